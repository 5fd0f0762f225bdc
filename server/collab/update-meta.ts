import * as Y from 'yjs';

/** Per client, the clock range `[from, to)` of the structs an update holds (as `Y.parseUpdateMeta`). */
export type UpdateMeta = ReturnType<typeof Y.parseUpdateMeta>;

/**
 * Reads an update's struct ranges from the transaction that produced it instead of decoding the
 * update again, where that is cheaper. Persistence needs the ranges of every update it logs
 * (`DurableClock`), and Hocuspocus hands its `onChange` only the bytes, which Yjs has just encoded
 * from the transaction.
 *
 * The two costs (micro-bench, Node 24): decoding is ~50–70 ns per update byte, because it reads
 * every struct's content (a REST push's update of 100 materials, ~70 KB: 3.5 ms, 9 % of the push's
 * CPU in bench:api); the transaction's ranges are ~40–80 ns per client the document has ever had,
 * because Yjs keeps whole state vectors before and after (a one-field edit in a document of 1,000
 * clients: 82 µs against 6 µs decoding). So the ranges are taken from the transaction only when the
 * update has more bytes than the document has clients; else `metaOf` decodes.
 *
 * Exact, not an estimate: a transaction's `update` event encodes, per client whose clock moved, the
 * structs from its clock before the transaction to its clock after (`writeStructsFromTransaction`),
 * which is what decoding that update finds.
 */
export class UpdateMetaCache {
	/** Keyed by the update's bytes, which Hocuspocus passes on as the same object; dropped with them. */
	readonly #byUpdate = new WeakMap<Uint8Array, UpdateMeta>();

	/** Records the ranges of `doc`'s updates as Yjs emits them. Before any `onChange` sees them: hooks run on a later microtask. */
	watch(doc: Y.Doc): void {
		doc.on('update', (update: Uint8Array, _origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
			if (update.byteLength > tr.afterState.size) this.#byUpdate.set(update, rangesOf(tr));
		});
	}

	/** The ranges of `update`: recorded from its transaction, or decoded. */
	metaOf(update: Uint8Array): UpdateMeta {
		return this.#byUpdate.get(update) ?? Y.parseUpdateMeta(update);
	}
}

function rangesOf(tr: Y.Transaction): UpdateMeta {
	const from = new Map<number, number>();
	const to = new Map<number, number>();
	for (const [client, after] of tr.afterState) {
		const before = tr.beforeState.get(client) ?? 0;
		if (after > before) {
			from.set(client, before);
			to.set(client, after);
		}
	}
	return { from, to };
}
