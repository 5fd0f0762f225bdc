import * as Y from 'yjs';
import type { Db, Tx } from '../db/port.ts';

/** Tunables of the document store. */
export interface DocStoreSettings {
	/** Most updates in one group-commit INSERT. */
	maxBatchUpdates: number;
	/** Stop adding rows to a batch past this many payload bytes. */
	maxBatchBytes: number;
	/** How long an append that starts a new batch waits for others to join it; 0 = the next tick. */
	groupCommitWindowMs: number;
}

/** Defaults of the document store. */
export const docStoreDefaults: Readonly<DocStoreSettings> = {
	/** Most updates in one group-commit INSERT (pg allows 65,535 parameters; we use 2 per row). */
	maxBatchUpdates: 2_000,
	/** Stop adding rows to a batch past this many payload bytes, to bound one statement's size. */
	maxBatchBytes: 8 * 1024 * 1024,
	/**
	 * At a steady trickle (one edit every couple of ms across all documents) each commit would
	 * otherwise carry one update: a Postgres round trip and fsync per edit, competing for CPU with
	 * the fan-out (README "Collaboration server"). A few ms of window makes them share commits; the
	 * durable acknowledgement comes that much later, which nobody can see.
	 */
	groupCommitWindowMs: 4
};

export type DocStoreErrorCode =
	/** `close()` was called; no further appends are accepted. */
	| 'CLOSED'
	/** A stored row is not a valid Yjs update; loading or compacting that document cannot proceed. */
	| 'CORRUPT_UPDATE';

/** Typed error of the document store. */
export class DocStoreError extends Error {
	override readonly name = 'DocStoreError';
	constructor(
		readonly code: DocStoreErrorCode,
		message: string,
		options?: { cause?: unknown }
	) {
		super(message, options);
	}
}

/** What one compaction did. */
export interface CompactResult {
	/** Log rows folded into the snapshot and deleted. 0 → nothing to do, snapshot untouched. */
	foldedUpdates: number;
	/** Size of the snapshot written (or the existing one when nothing was folded). */
	snapshotBytes: number;
}

/** Durable storage of Yjs documents: an append-only update log plus compacted snapshots. */
export interface DocStore {
	/**
	 * Appends one Yjs update to `docName`'s log. Resolves only after the row is COMMITTED; concurrent
	 * calls (any documents) share one multi-row INSERT (group commit), so throughput does not pay
	 * one commit per update.
	 */
	appendUpdate(docName: string, update: Uint8Array): Promise<void>;
	/** The document's full state (snapshot plus every log row) as one update; `null` if never written. */
	load(docName: string): Promise<Uint8Array | null>;
	/**
	 * Folds the log rows present now into the snapshot and deletes exactly those rows, in one
	 * transaction under the snapshot row's lock. Safe to run concurrently with appends and with
	 * compactions of other instances.
	 */
	compact(docName: string): Promise<CompactResult>;
	/** Resolves when every append issued before the call has committed (or failed). */
	flush(): Promise<void>;
	/** Appends waiting for or inside a group commit. */
	readonly pendingAppends: number;
	/** Flushes, then rejects further appends with `DocStoreError('CLOSED')`. Does not close the `Db`. */
	close(): Promise<void>;
}

interface PendingAppend {
	docName: string;
	update: Uint8Array;
	resolve(): void;
	reject(error: unknown): void;
}

/**
 * Applies rows to a fresh Y.Doc and encodes it — linear, unlike `Y.mergeUpdates` (docs/pitfalls.md
 * "Yjs"). All rows in ONE Yjs transaction: Yjs then cleans up (merges structs, runs GC) once, not per
 * row — a snapshot plus 500 list edits folded in 2.7–2.9 ms instead of 3.5–5.0 ms (2026-12-02).
 */
function merge(
	docName: string,
	rows: readonly { seq: number | bigint; payload: Uint8Array | null }[]
): Y.Doc {
	const doc = new Y.Doc();
	let current: (typeof rows)[number] | undefined;
	try {
		doc.transact(() => {
			for (current of rows) if (current.payload !== null) Y.applyUpdate(doc, current.payload);
		});
	} catch (error) {
		doc.destroy();
		const where = Number(current?.seq) < 0 ? 'snapshot' : `update seq ${current?.seq}`;
		throw new DocStoreError('CORRUPT_UPDATE', `${docName}: ${where} is not a valid Yjs update`, {
			cause: error
		});
	}
	return doc;
}

/**
 * Snapshot (as seq -1) and every log row in ONE statement, so both come from one MVCC snapshot: read
 * separately, a compaction committing in between would delete rows we then never see, while the
 * snapshot we already read lacks them.
 */
const LOAD_SQL = `
	SELECT -1::int8 AS seq, state AS payload FROM doc_snapshots WHERE doc_name = $1
	UNION ALL
	SELECT seq, payload FROM doc_updates WHERE doc_name = $1
	ORDER BY seq`;

/** Creates a document store over the `doc_updates` / `doc_snapshots` tables (migration 001). */
export function createDocStore(db: Db, options: Partial<DocStoreSettings> = {}): DocStore {
	const limits = { ...docStoreDefaults, ...options };
	let queue: PendingAppend[] = [];
	/** A drain loop is running; new appends join its next batch. */
	let draining = false;
	let closed = false;
	let pending = 0;
	/** Settles when the latest append settles; batches commit in FIFO order, so all earlier ones have. */
	let lastAppend: Promise<unknown> = Promise.resolve();

	function takeBatch(): PendingAppend[] {
		let bytes = 0;
		let count = 0;
		while (count < queue.length && count < limits.maxBatchUpdates) {
			const next = queue[count];
			if (!next || (count > 0 && bytes + next.update.byteLength > limits.maxBatchBytes)) break;
			bytes += next.update.byteLength;
			count++;
		}
		const batch = queue.slice(0, count);
		queue = queue.slice(count);
		return batch;
	}

	async function writeBatch(batch: PendingAppend[]): Promise<void> {
		const params: unknown[] = [];
		const values = batch.map((item, i) => {
			params.push(item.docName, item.update);
			return `($${2 * i + 1}, $${2 * i + 2})`;
		});
		// One statement is one transaction: one commit (one fsync) for the whole batch.
		await db.query(`INSERT INTO doc_updates (doc_name, payload) VALUES ${values.join(', ')}`, params);
	}

	/**
	 * The group-commit loop: the first append of an idle store waits `groupCommitWindowMs` for
	 * company; while a batch is being written, new appends queue up, and when it commits everything
	 * queued goes out as the next batch. Under load the window is one commit's latency.
	 */
	async function drain(): Promise<void> {
		// Let appends arriving shortly after (the same tick, or the next few ms) share the first batch.
		if (limits.groupCommitWindowMs > 0)
			await new Promise((resolve) => setTimeout(resolve, limits.groupCommitWindowMs));
		else await Promise.resolve();
		while (queue.length > 0) {
			const batch = takeBatch();
			try {
				await writeBatch(batch);
				for (const item of batch) item.resolve();
			} catch (error) {
				for (const item of batch) item.reject(error);
			} finally {
				pending -= batch.length;
			}
		}
		draining = false;
	}

	return {
		get pendingAppends() {
			return pending;
		},

		appendUpdate(docName, update) {
			if (closed) return Promise.reject(new DocStoreError('CLOSED', 'document store is closed'));
			const appended = new Promise<void>((resolve, reject) => {
				queue.push({ docName, update, resolve, reject });
				pending++;
				if (!draining) {
					draining = true;
					void drain();
				}
			});
			lastAppend = appended.catch(() => {});
			return appended;
		},

		async flush() {
			// Waits only for appends issued before the call, so a steady stream of new ones cannot starve it.
			await lastAppend;
		},

		async load(docName) {
			const { rows } = await db.query<{ seq: number | bigint; payload: Uint8Array | null }>(LOAD_SQL, [
				docName
			]);
			if (rows.length === 0) return null;
			const doc = merge(docName, rows);
			try {
				return Y.encodeStateAsUpdate(doc);
			} finally {
				doc.destroy();
			}
		},

		compact(docName) {
			return db.transaction((tx) => compactIn(tx, docName));
		},

		async close() {
			closed = true;
			await this.flush();
		}
	};
}

async function compactIn(tx: Tx, docName: string): Promise<CompactResult> {
	// Lock the snapshot row so two compactors (two instances) run one after the other: the second
	// then reads the first's snapshot and the rows it left, and cannot overwrite it with state that
	// lacks the first one's folded rows. FOR UPDATE needs a row, so make sure one exists; a
	// concurrent insert of the same row waits on ON CONFLICT and then does nothing.
	await tx.query(
		'INSERT INTO doc_snapshots (doc_name, state) VALUES ($1, NULL) ON CONFLICT (doc_name) DO NOTHING',
		[docName]
	);
	const snapshot = await tx.query<{ state: Uint8Array | null }>(
		'SELECT state FROM doc_snapshots WHERE doc_name = $1 FOR UPDATE',
		[docName]
	);
	const state = snapshot.rows[0]?.state ?? null;
	// Read after taking the lock (READ COMMITTED: each statement sees what is committed when it
	// starts), so rows a previous compactor deleted are gone and its snapshot is the one we hold.
	const log = await tx.query<{ seq: number | bigint; payload: Uint8Array }>(
		'SELECT seq, payload FROM doc_updates WHERE doc_name = $1 ORDER BY seq',
		[docName]
	);
	if (log.rows.length === 0) return { foldedUpdates: 0, snapshotBytes: state?.byteLength ?? 0 };
	const doc = merge(docName, [{ seq: -1, payload: state }, ...log.rows]);
	let encoded: Uint8Array;
	try {
		encoded = Y.encodeStateAsUpdate(doc);
	} finally {
		doc.destroy();
	}
	await tx.query('UPDATE doc_snapshots SET state = $2, updated_at = now() WHERE doc_name = $1', [
		docName,
		encoded
	]);
	// Delete EXACTLY the rows folded in, never `seq <= max`: bigserial order is not commit order, so
	// an update with a lower seq may commit after our read; it must stay in the log (loading reads
	// snapshot + all rows, and re-applying a Yjs update already in the snapshot is harmless).
	const seqs = log.rows.map((row) => row.seq);
	const deleted = await tx.query('DELETE FROM doc_updates WHERE doc_name = $1 AND seq = ANY($2::int8[])', [
		docName,
		seqs
	]);
	return { foldedUpdates: deleted.rowCount, snapshotBytes: encoded.byteLength };
}
