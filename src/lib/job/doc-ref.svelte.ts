import { type DocSession, sync } from '$lib/sync/client.svelte.ts';

/**
 * Opens a document for as long as the calling component lives (and the id stays the same).
 * Must be called during component initialisation: it registers an `$effect`.
 */
export function useDoc(
	kind: 'job' | 'materials' | 'customer',
	id: () => string
): { readonly current: DocSession | null } {
	let current = $state<DocSession | null>(null);
	$effect(() => {
		const session = sync.openKind(kind, id());
		current = session;
		return () => {
			sync.release(session);
			current = null;
		};
	});
	return {
		get current() {
			return current;
		}
	};
}
