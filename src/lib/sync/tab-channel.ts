import * as Y from 'yjs';

/**
 * Two tabs of one browser converge without the server: y-indexeddb shares storage but does not
 * tell the other tab (docs/pitfalls.md "y-indexeddb"). Each tab broadcasts its own edits; a tab that
 * opens a document asks the others for what it lacks (a Yjs state vector), so offline tabs agree.
 */
type TabMessage = { type: 'update'; update: Uint8Array } | { type: 'hello'; stateVector: Uint8Array };

/** Origin of updates applied from another tab: not ours to undo, not ours to count as pending. */
export const TAB_ORIGIN = Symbol('khs:tab');

export function connectTabs(docName: string, doc: Y.Doc): () => void {
	if (typeof BroadcastChannel === 'undefined') return () => {};
	const channel = new BroadcastChannel(`khs-doc:${docName}`);
	const post = (message: TabMessage) => {
		try {
			channel.postMessage(message);
		} catch {
			// Channel closed during teardown.
		}
	};
	const onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
		// Only this tab's own writes: remote and stored updates reach the other tab by their own path.
		if (origin !== TAB_ORIGIN && tr.local) post({ type: 'update', update });
	};
	channel.onmessage = (event: MessageEvent<TabMessage>) => {
		const message = event.data;
		if (message?.type === 'update') Y.applyUpdate(doc, message.update, TAB_ORIGIN);
		else if (message?.type === 'hello') {
			const diff = Y.encodeStateAsUpdate(doc, message.stateVector);
			// An empty diff is two bytes (no structs, no deletes); do not wake every tab for it.
			if (diff.length > 2) post({ type: 'update', update: diff });
		}
	};
	doc.on('update', onUpdate);
	post({ type: 'hello', stateVector: Y.encodeStateVector(doc) });
	return () => {
		doc.off('update', onUpdate);
		channel.close();
	};
}

/** Asks other tabs again (after local storage loaded, the state vector changed). */
export function helloTabs(docName: string, doc: Y.Doc): void {
	if (typeof BroadcastChannel === 'undefined') return;
	const channel = new BroadcastChannel(`khs-doc:${docName}`);
	channel.postMessage({ type: 'hello', stateVector: Y.encodeStateVector(doc) } satisfies TabMessage);
	channel.close();
}
