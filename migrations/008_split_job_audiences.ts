import * as Y from 'yjs';
import {
	DOC_LAYOUT,
	docName,
	HybridClock,
	JobOwnerDoc,
	OWNER_ONLY_FIELDS,
	parseDocName,
	parseKey,
	privateNotesDocName
} from '../crdt/index.ts';
import type { Tx } from '../server/db/port.ts';

/**
 * Moves every job's price and private notes out of its shared `job:` document (docs/documents.md
 * "Migrating the first layout"). The first layout kept them inside `job:`, so every crew phone
 * received them. For each `job:` document that holds any:
 * - its entries are copied VERBATIM (same keys, same stamped values) into `job-owner:<jobId>` and
 *   `private-notes:<jobId>:<userId>`, so every merge rule sees the same writes as before;
 * - they are deleted from `job:`, and the job's whole stored state (snapshot and log) is replaced
 *   by one snapshot encoded with garbage collection, so no stored state of `job:` holds their values
 *   any longer (deleted map entries keep only their key, which names no value);
 * - the owner part is written to `job_owner_fields` (migration 007), so the job's projected row
 *   keeps its price before the owner document is ever loaded.
 * Runs once, under the migration lock, in one transaction: a failure leaves everything as it was.
 * Instances of the first layout must be stopped first: an update one of them appends meanwhile to
 * a `job:` log is kept (never lost), and would carry its price into the log again.
 */
export async function up(tx: Tx): Promise<void> {
	const { rows } = await tx.query<{ doc_name: string }>(
		`SELECT doc_name FROM doc_snapshots WHERE doc_name LIKE 'job:%'
		 UNION SELECT doc_name FROM doc_updates WHERE doc_name LIKE 'job:%'`
	);
	for (const { doc_name } of rows) {
		const ref = parseDocName(doc_name);
		if (ref?.kind === 'job') await splitJob(tx, doc_name, ref.id);
	}
}

const OWNER_FIELDS = new Set(OWNER_ONLY_FIELDS.job);
const PRIVATE_FIELD = 'privateNotes';

async function splitJob(tx: Tx, name: string, jobId: string): Promise<void> {
	const { doc, seqs } = await load(tx, name);
	const shared = doc.getMap(DOC_LAYOUT.job.root);
	const owner = new Y.Doc();
	const privates = new Map<string, Y.Doc>();
	const moved: string[] = [];
	for (const [key, value] of shared.entries()) {
		const { field, parts } = parseKey(key);
		if (OWNER_FIELDS.has(field)) owner.getMap(DOC_LAYOUT['job-owner'].root).set(key, value);
		else if (field === PRIVATE_FIELD && parts[0]) {
			const mine = privates.get(parts[0]) ?? new Y.Doc();
			mine.getMap(DOC_LAYOUT['private-notes'].root).set(key, value);
			privates.set(parts[0], mine);
		} else continue;
		moved.push(key);
	}
	if (moved.length === 0) return;
	doc.transact(() => {
		for (const key of moved) shared.delete(key);
	});
	await replaceState(tx, name, Y.encodeStateAsUpdate(doc), seqs);
	const ownerName = docName('job-owner', jobId);
	if (owner.getMap(DOC_LAYOUT['job-owner'].root).size > 0) {
		await append(tx, ownerName, Y.encodeStateAsUpdate(owner));
		await projectOwnerPart(tx, ownerName, jobId);
	}
	for (const [userId, notes] of privates) {
		await append(tx, privateNotesDocName(jobId, userId), Y.encodeStateAsUpdate(notes));
	}
}

/** Snapshot and log rows of one document, merged by loading (as server/docs/store.ts does). */
async function load(tx: Tx, name: string): Promise<{ doc: Y.Doc; seqs: string[] }> {
	const { rows } = await tx.query<{ seq: string | number | bigint; payload: Uint8Array | null }>(
		`SELECT -1::int8 AS seq, state AS payload FROM doc_snapshots WHERE doc_name = $1
		 UNION ALL SELECT seq, payload FROM doc_updates WHERE doc_name = $1 ORDER BY seq`,
		[name]
	);
	const doc = new Y.Doc();
	for (const row of rows) if (row.payload) Y.applyUpdate(doc, row.payload);
	return { doc, seqs: rows.map((r) => String(r.seq)).filter((seq) => seq !== '-1') };
}

/** The document's whole stored state becomes `state`: its snapshot, with the log rows read deleted. */
async function replaceState(tx: Tx, name: string, state: Uint8Array, seqs: readonly string[]): Promise<void> {
	await tx.query(
		`INSERT INTO doc_snapshots (doc_name, state) VALUES ($1, $2)
		 ON CONFLICT (doc_name) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
		[name, state]
	);
	await tx.query('DELETE FROM doc_updates WHERE doc_name = $1 AND seq = ANY($2::int8[])', [name, seqs]);
}

/** A log row: loading merges it with whatever the document already holds (Yjs applies idempotently). */
async function append(tx: Tx, name: string, update: Uint8Array): Promise<void> {
	await tx.query('INSERT INTO doc_updates (doc_name, payload) VALUES ($1, $2)', [name, update]);
}

/** Writes the owner part as the projection would (server/projection/write.ts `writeOwnerParts`). */
async function projectOwnerPart(tx: Tx, ownerName: string, jobId: string): Promise<void> {
	const { doc } = await load(tx, ownerName);
	const view = new JobOwnerDoc(doc, jobId, {
		writer: { userId: 'migration', deviceId: 'server', role: 'OWNER' },
		clock: new HybridClock()
	});
	const data = { ...view.read(), updatedAt: view.entity.updatedAt() };
	await tx.query(
		`INSERT INTO job_owner_fields (job_id, data, state_vector) VALUES ($1, $2, $3)
		 ON CONFLICT (job_id) DO UPDATE SET data = EXCLUDED.data, state_vector = EXCLUDED.state_vector`,
		[jobId, JSON.stringify(data), Y.encodeStateVector(doc)]
	);
}
