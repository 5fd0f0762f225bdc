/**
 * Whether the last API call got an answer, for whoever shows connectivity (the sync status
 * subscribes). A tiny event here, not a call into `$lib/sync`, keeps `api` below `sync` in the
 * folder layering (CONTRIBUTING.md "Layers").
 */
type Listener = (reachable: boolean) => void;

const listeners = new Set<Listener>();

/** Subscribes; returns the unsubscribe. */
export function onApiReachability(listener: Listener): () => void {
	listeners.add(listener);
	return () => listeners.delete(listener);
}

export function reportApiReachability(reachable: boolean): void {
	for (const listener of listeners) listener(reachable);
}
