import { CrdtError } from '$crdt/errors.ts';
import { notices } from '$lib/ui/notices.svelte.ts';

/** Runs a local CRDT write; a validation error becomes a notice instead of a broken page. */
export function write(work: () => void): boolean {
	try {
		work();
		return true;
	} catch (error) {
		notices.push('error', error instanceof CrdtError ? error.message : 'That change could not be saved.');
		return false;
	}
}
