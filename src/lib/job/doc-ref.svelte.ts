import { type DocKind, isUuid } from '$crdt/doc-names.ts';
import { type DocSession, sync } from '$lib/sync/client.svelte.ts';
import { syncStatus } from '$lib/sync/status.svelte.ts';

/**
 * Opens a document for as long as the calling component lives (and the id stays the same).
 * Must be called during component initialisation: it registers an `$effect`.
 */
export function useDoc(
	kind: DocKind,
	/** The entity's id; anything but a UUID (e.g. '' for a document this person may not open) opens nothing. */
	id: () => string
): { readonly current: DocSession | null } {
	let current = $state<DocSession | null>(null);
	$effect(() => {
		// A malformed id (`/jobs/not-a-job`) names no document: nothing to open, the page says so.
		const docId = id();
		if (!isUuid(docId)) return;
		const session = sync.openKind(kind, docId);
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

/** How long a page waits for the server's copy of a document before saying it is not here yet. */
export const SERVER_PATIENCE_MS = 8_000;

/**
 * Whether a page should still show "opening…" for a document it has no local copy of: only while
 * the browser is online and the server has not answered for this document yet, and not forever —
 * with the server down (connection refused, socket retrying) the honest answer after a few
 * seconds is "not on this device yet", not an endless spinner. Call during component init.
 */
export function useServerWait(doc: () => DocSession | null, patienceMs = SERVER_PATIENCE_MS) {
	let expired = $state(false);
	$effect(() => {
		const current = doc();
		expired = false;
		if (!current) return;
		const timer = setTimeout(() => (expired = true), patienceMs);
		return () => clearTimeout(timer);
	});
	return {
		get waiting(): boolean {
			const current = doc();
			if (!current) return true;
			return !current.serverSynced && !current.denied && syncStatus.browserOnline && !expired;
		}
	};
}
