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

/** A row number of the update log (`doc_updates.seq`, int8: see server/db/values.ts). */
export type Seq = number | bigint;

/**
 * What a copy of a document held in memory is known to contain, so that `compact` can write the
 * copy itself as the snapshot instead of reading the snapshot and every log row back and applying
 * them again (bench:peers' profile: compaction on unload was 12 % of the server's busy time).
 */
export interface HeldBasis {
	/** The snapshot version the copy contains (0: none written yet); `null`: not known. */
	snapshotVersion: Seq | null;
	/** Log rows the copy contains: those loaded with it, and those its holder appended after applying. */
	seqs: Set<Seq>;
}

/** A document as its holder has it in memory: its encoded state and what that state contains. */
export interface HeldState {
	state: Uint8Array;
	basis: HeldBasis;
	/**
	 * `state`'s state vector and delete set, when the holder has them at hand (`Y.snapshot` of the
	 * Y.Doc it encoded `state` from, in the same tick): compaction then checks other rows against it
	 * instead of decoding `state` twice — 4.3 ms against 0.012 for a list of 200 materials after
	 * 5,000 edits (308 KB); in a reconnect storm that decode was 6 % of the server's allocations.
	 */
	contains?: Y.Snapshot;
}

/** What one compaction did. */
export interface CompactResult {
	/** Log rows folded into the snapshot and deleted. 0 → nothing to do, snapshot untouched. */
	foldedUpdates: number;
	/** Size of the snapshot written (or the existing one when nothing was folded). */
	snapshotBytes: number;
	/**
	 * The snapshot version written from the held copy: the copy contains that snapshot. `null`: the
	 * store folded the log instead (no held copy, or the snapshot had moved on) and the copy may lack
	 * what the new snapshot holds.
	 */
	heldVersion: Seq | null;
}

/** Durable storage of Yjs documents: an append-only update log plus compacted snapshots. */
export interface DocStore {
	/**
	 * Appends one Yjs update to `docName`'s log and resolves with its row's seq only after the row is
	 * COMMITTED; concurrent calls (any documents) share one multi-row INSERT (group commit), so
	 * throughput does not pay one commit per update.
	 */
	appendUpdate(docName: string, update: Uint8Array): Promise<Seq>;
	/** The document's full state (snapshot plus every log row) as one update; `null` if never written. */
	load(docName: string): Promise<Uint8Array | null>;
	/** `load`, plus the basis a holder of the state hands to `compact` later. */
	loadHeld(docName: string): Promise<HeldState | null>;
	/**
	 * Folds the log rows present now into the snapshot and deletes exactly those rows. Safe to run
	 * concurrently with appends and with compactions of other instances.
	 *
	 * With `held`, and while the snapshot row still has the version `held` contains, `held.state`
	 * becomes the snapshot, and the rows it is known to contain are deleted (plus those of the others
	 * it is checked to contain); rows it may lack stay in the log. Otherwise it folds the log under the
	 * snapshot row's lock, as without `held`.
	 */
	compact(docName: string, held?: HeldState): Promise<CompactResult>;
	/** Resolves when every append issued before the call has committed (or failed). */
	flush(): Promise<void>;
	/**
	 * Ends the group-commit window at the end of this turn (once its microtasks have run), or skips
	 * the next one when none is open: a writer is waiting for the commit (a REST push answers only
	 * once its updates are durable), and waiting for company would only delay it. Not at once: the
	 * appends of the same turn still join the batch — a REST push writes several documents, and
	 * Hocuspocus' onChange chains append their updates a few microtasks after each transaction (a
	 * commit at the first waiter took 7 of a 10-document push and left 3 for a second commit). Batches
	 * still commit one at a time, in order.
	 */
	commitNow(): void;
	/** Appends waiting for or inside a group commit. */
	readonly pendingAppends: number;
	/** Flushes, then rejects further appends with `DocStoreError('CLOSED')`. Does not close the `Db`. */
	close(): Promise<void>;
}

interface PendingAppend {
	docName: string;
	update: Uint8Array;
	resolve(seq: Seq): void;
	reject(error: unknown): void;
}

/**
 * Applies rows to a fresh Y.Doc and encodes it — linear, unlike `Y.mergeUpdates` (docs/pitfalls.md
 * "Yjs"). All rows in ONE Yjs transaction: Yjs then cleans up (merges structs, runs GC) once, not per
 * row — a snapshot plus 500 list edits folded in 2.7–2.9 ms instead of 3.5–5.0 ms (2026-12-02).
 */
function merge(docName: string, rows: readonly { seq: Seq; payload: Uint8Array | null }[]): Y.Doc {
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
	SELECT -1::int8 AS seq, state AS payload, version FROM doc_snapshots WHERE doc_name = $1
	UNION ALL
	SELECT seq, payload, NULL FROM doc_updates WHERE doc_name = $1
	ORDER BY seq`;

/**
 * Held compaction's compare-and-set: the held state becomes the snapshot only while the row has the
 * version the state contains, and the rows folded are deleted in the same statement (so in the
 * same transaction). A compactor that locked the row first makes this one match nothing; one that
 * comes later waits for the row lock and then sees the new version. $1 name, $2 state, $3 version
 * held, $4 seqs to delete.
 */
function heldCompactionSql(firstSnapshot: boolean): string {
	const write = firstSnapshot
		? `INSERT INTO doc_snapshots AS s (doc_name, state, version) VALUES ($1, $2, 1)
			ON CONFLICT (doc_name) DO UPDATE SET state = EXCLUDED.state, version = s.version + 1, updated_at = now()
			WHERE s.version = $3::int8
			RETURNING s.version`
		: `UPDATE doc_snapshots SET state = $2, version = version + 1, updated_at = now()
			WHERE doc_name = $1 AND version = $3::int8
			RETURNING version`;
	return `
	WITH snapshot AS (${write}),
	folded AS (
		DELETE FROM doc_updates WHERE doc_name = $1 AND seq = ANY($4::int8[]) AND EXISTS (SELECT FROM snapshot)
		RETURNING 1
	)
	SELECT (SELECT version FROM snapshot) AS version, (SELECT count(*) FROM folded)::int AS folded`;
}

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
	/** Ends the open group-commit window (`commitNow`); `undefined` when none is open. */
	let endWindow: (() => void) | undefined;
	/** `commitNow` came while no window was open: the next drain starts without one. */
	let skipNextWindow = false;
	/** A `commitNow` of this turn waits for the turn's end. */
	let commitScheduled = false;

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

	/**
	 * Inserts a batch; resolves with the rows' seqs in the batch's order (RETURNING follows VALUES).
	 * Were they ever handed out of order, a document's held basis would name another document's row,
	 * which its compaction cannot delete (`doc_name = $1`), and miss its own, which it then checks.
	 */
	async function writeBatch(batch: PendingAppend[]): Promise<Seq[]> {
		const params: unknown[] = [];
		const values = batch.map((item, i) => {
			params.push(item.docName, item.update);
			return `($${2 * i + 1}, $${2 * i + 2})`;
		});
		// One statement is one transaction: one commit (one fsync) for the whole batch.
		const { rows } = await db.query<{ seq: Seq }>(
			`INSERT INTO doc_updates (doc_name, payload) VALUES ${values.join(', ')} RETURNING seq`,
			params
		);
		return rows.map((row) => row.seq);
	}

	/** Waits `groupCommitWindowMs`, or until `commitNow` ends the wait. */
	function groupCommitWindow(): Promise<void> {
		return new Promise<void>((resolve) => {
			const timer = setTimeout(close, limits.groupCommitWindowMs);
			function close() {
				clearTimeout(timer);
				endWindow = undefined;
				resolve();
			}
			endWindow = close;
		});
	}

	/**
	 * The group-commit loop: the first append of an idle store waits `groupCommitWindowMs` for
	 * company; while a batch is being written, new appends queue up, and when it commits everything
	 * queued goes out as the next batch. Under load the window is one commit's latency.
	 */
	async function drain(): Promise<void> {
		// Let appends arriving shortly after (the same tick, or the next few ms) share the first batch.
		if (limits.groupCommitWindowMs > 0 && !skipNextWindow) await groupCommitWindow();
		else await Promise.resolve();
		skipNextWindow = false;
		while (queue.length > 0) {
			const batch = takeBatch();
			try {
				const seqs = await writeBatch(batch);
				for (const [i, item] of batch.entries()) item.resolve(seqs[i] as Seq);
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
			const appended = new Promise<Seq>((resolve, reject) => {
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

		commitNow() {
			if (commitScheduled) return;
			commitScheduled = true;
			setImmediate(() => {
				commitScheduled = false;
				if (endWindow) endWindow();
				// A running drain takes what is queued without a window; only an idle store skips the next.
				else if (!draining) skipNextWindow = true;
			});
		},

		async flush() {
			// Waits only for appends issued before the call, so a steady stream of new ones cannot starve it.
			await lastAppend;
		},

		async load(docName) {
			return (await this.loadHeld(docName))?.state ?? null;
		},

		async loadHeld(docName) {
			const { rows } = await db.query<{ seq: Seq; payload: Uint8Array | null; version: Seq | null }>(
				LOAD_SQL,
				[docName]
			);
			if (rows.length === 0) return null;
			const doc = merge(docName, rows);
			try {
				const snapshot = rows[0]?.seq === -1 ? rows[0] : undefined;
				const seqs = new Set(rows.filter((row) => row !== snapshot).map((row) => row.seq));
				return {
					state: Y.encodeStateAsUpdate(doc),
					basis: { snapshotVersion: snapshot?.version ?? 0, seqs }
				};
			} finally {
				doc.destroy();
			}
		},

		async compact(docName, held) {
			if (held && held.basis.snapshotVersion !== null) {
				const result = await compactHeld(db, docName, held, held.basis.snapshotVersion);
				if (result) return result;
			}
			return db.transaction((tx) => compactIn(tx, docName));
		},

		async close() {
			closed = true;
			await this.flush();
		}
	};
}

/**
 * `compact` from a held copy: `null` when the snapshot row no longer has the copy's version (another
 * instance compacted). Rows the basis does not name (another instance's appends, or an append whose
 * commit was reported failed and retried) are deleted only when the copy is checked to contain them.
 */
async function compactHeld(
	db: Db,
	docName: string,
	held: HeldState,
	snapshotVersion: Seq
): Promise<CompactResult | null> {
	const known = [...held.basis.seqs];
	const others = await db.query<{ seq: Seq; payload: Uint8Array }>(
		'SELECT seq, payload FROM doc_updates WHERE doc_name = $1 AND seq <> ALL($2::int8[])',
		[docName, known]
	);
	if (others.rows.length > 0) {
		const contains = held.contains ?? heldSnapshot(held.state);
		for (const row of others.rows) if (Y.snapshotContainsUpdate(contains, row.payload)) known.push(row.seq);
	}
	const { rows } = await db.query<{ version: Seq | null; folded: number }>(
		heldCompactionSql(Number(snapshotVersion) === 0),
		[docName, held.state, snapshotVersion, known]
	);
	const version = rows[0]?.version ?? null;
	if (version === null) return null;
	return { foldedUpdates: rows[0]?.folded ?? 0, snapshotBytes: held.state.byteLength, heldVersion: version };
}

/** The state vector and delete set of an encoded document: what `snapshotContainsUpdate` compares. */
function heldSnapshot(state: Uint8Array): Y.Snapshot {
	const { ds } = Y.decodeUpdate(state);
	return Y.createSnapshot(
		ds as Parameters<typeof Y.createSnapshot>[0],
		Y.decodeStateVector(Y.encodeStateVectorFromUpdate(state))
	);
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
	const log = await tx.query<{ seq: Seq; payload: Uint8Array }>(
		'SELECT seq, payload FROM doc_updates WHERE doc_name = $1 ORDER BY seq',
		[docName]
	);
	if (log.rows.length === 0)
		return { foldedUpdates: 0, snapshotBytes: state?.byteLength ?? 0, heldVersion: null };
	const doc = merge(docName, [{ seq: -1, payload: state }, ...log.rows]);
	let encoded: Uint8Array;
	try {
		encoded = Y.encodeStateAsUpdate(doc);
	} finally {
		doc.destroy();
	}
	await tx.query(
		'UPDATE doc_snapshots SET state = $2, version = version + 1, updated_at = now() WHERE doc_name = $1',
		[docName, encoded]
	);
	// Delete EXACTLY the rows folded in, never `seq <= max`: bigserial order is not commit order, so
	// an update with a lower seq may commit after our read; it must stay in the log (loading reads
	// snapshot + all rows, and re-applying a Yjs update already in the snapshot is harmless).
	const seqs = log.rows.map((row) => row.seq);
	const deleted = await tx.query('DELETE FROM doc_updates WHERE doc_name = $1 AND seq = ANY($2::int8[])', [
		docName,
		seqs
	]);
	return { foldedUpdates: deleted.rowCount, snapshotBytes: encoded.byteLength, heldVersion: null };
}
