import * as Y from 'yjs';

/** How one loaded document's size is tracked between (costly) measurements. */
interface SizeState {
	/** `encodeStateAsUpdate(doc).byteLength` when last measured. */
	measuredBytes: number;
	/** Update bytes admitted since: an upper bound on the growth (updates overlap, deletes shrink). */
	sinceBytes: number;
	measuredAtMs: number;
}

/**
 * The per-document size limit (SOCK-4): an update is refused when it could take its document past
 * `maxDocumentBytes`. Measuring a document is O(document) (16 ms for 1.1 MB), so it is measured once
 * when first updated, then estimated as measured + admitted update bytes; only when that estimate
 * would pass the limit is it measured again, at most once per `remeasureEveryMs` per document (a
 * client hammering a full document costs one measurement per interval, not one per update).
 *
 * One instance per server: documents grow through every socket. Keyed by the Y.Doc itself, so an
 * unloaded document's state goes with it.
 */
export class DocumentSizes {
	private readonly states = new WeakMap<Y.Doc, SizeState>();

	constructor(
		private readonly maxDocumentBytes: number,
		private readonly remeasureEveryMs = 10_000,
		private readonly nowMs: () => number = Date.now
	) {}

	/**
	 * Whether `updateBytes` more may be applied to `doc`. A document not loaded yet (the update is
	 * queued until its connection authenticates) is admitted: Hocuspocus bounds that queue
	 * (`maxUnauthenticatedQueueSize`) and the next update after the load is measured.
	 */
	admit(doc: Y.Doc | undefined, updateBytes: number): boolean {
		if (!doc) return true;
		let state = this.states.get(doc);
		if (!state) {
			state = this.measure(doc);
			this.states.set(doc, state);
		}
		if (state.measuredBytes + state.sinceBytes + updateBytes <= this.maxDocumentBytes) {
			state.sinceBytes += updateBytes;
			return true;
		}
		if (this.nowMs() - state.measuredAtMs < this.remeasureEveryMs) return false;
		Object.assign(state, this.measure(doc));
		if (state.measuredBytes + updateBytes > this.maxDocumentBytes) return false;
		state.sinceBytes = updateBytes;
		return true;
	}

	private measure(doc: Y.Doc): SizeState {
		return {
			measuredBytes: Y.encodeStateAsUpdate(doc).byteLength,
			sinceBytes: 0,
			measuredAtMs: this.nowMs()
		};
	}
}
