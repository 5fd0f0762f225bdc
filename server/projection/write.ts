import type { Db, Tx } from '../db/port.ts';
import { canonicalJson } from '../sync/canonical.ts';
import type { ProjectedEntity } from './extract.ts';

/** One row a projection wrote. */
export interface ChangedRow {
	entity: ProjectedEntity['entity'];
	id: string;
	version: number;
}

/** What one projection transaction wrote (for one document, or the whole pass). */
export interface ProjectionResult {
	/** Entities whose JSON changed (each got version + 1). */
	changed: ChangedRow[];
	/** The writing transaction's id (`pg_current_xact_id()`), when anything was written. */
	txid: string | null;
}

/** One document's share of a projection pass: its changed entities and the state vector they were read at. */
export interface DocumentRows {
	documentName: string;
	entities: readonly ProjectedEntity[];
	stateVector: Uint8Array;
}

/** Users a committed projection took off a job's crew (rows it deleted from `job_assignments`). */
export interface RemovedAssignment {
	jobId: string;
	userIds: string[];
}

/** What a pass wrote, per document, under one transaction id. */
export interface PassResult {
	txid: string | null;
	changed: Map<string, ChangedRow[]>;
	/** Crew removals the transaction made; only true once it has committed (the caller's concern). */
	removed: RemovedAssignment[];
}

const TABLE = { customer: 'customers', job: 'jobs', material: 'materials' } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface StoredRow {
	id: string;
	data: Record<string, unknown>;
	version: number;
}

/** An entity with the document it came from and that document's state vector (hex, see `toHex`). */
interface PassRow {
	entity: ProjectedEntity;
	documentName: string;
	stateVectorHex: string;
}

/**
 * Writes the rows of several documents in ONE transaction (bench:server profile: one transaction
 * per document per change was most of our Postgres time), touching only rows whose JSON changed
 * (issue 4: "only rows that really changed are written"), each with version + 1 and its document's
 * state vector. Rows are locked in (kind, id) order, so two instances projecting overlapping
 * documents serialize on them without deadlocking; both read converged documents, so the second
 * finds nothing changed. Jobs also keep `job_assignments` (the websocket ACL) equal to `assignedTo`,
 * and a job whose crew or customer changed re-announces its materials and customer (`REVEAL`) so
 * newly assigned workers receive them on their next pull.
 */
export async function writeProjections(db: Db, documents: readonly DocumentRows[]): Promise<PassResult> {
	const rows = passRows(documents);
	const changed = new Map<string, ChangedRow[]>();
	if (rows.length === 0) return { txid: null, changed, removed: [] };
	return db.transaction(async (tx) => {
		let txid: string | null = null;
		const removed: RemovedAssignment[] = [];
		for (const kind of ['customer', 'job', 'material'] as const) {
			const ofKind = rows.filter((r) => r.entity.entity === kind);
			if (ofKind.length === 0) continue;
			const written =
				kind === 'job' ? await writeJobs(tx, ofKind, removed) : await upsertChanged(tx, kind, ofKind);
			for (const { row, version, txid: rowTxid } of written) {
				txid ??= rowTxid;
				const list = changed.get(row.documentName) ?? [];
				list.push({ entity: kind, id: row.entity.id, version });
				changed.set(row.documentName, list);
			}
		}
		if (changed.size > 0 && txid === null) txid = await currentTxid(tx);
		return { txid, changed, removed };
	});
}

/** Flattened, one row per (kind, id) — the last document wins — sorted by id for lock order. */
function passRows(documents: readonly DocumentRows[]): PassRow[] {
	const byKey = new Map<string, PassRow>();
	for (const doc of documents) {
		const stateVectorHex = toHex(doc.stateVector);
		for (const entity of doc.entities) {
			// Two documents claiming one id (a client reusing a UUID) would make ON CONFLICT touch a row twice.
			byKey.set(`${entity.entity}:${entity.id}`, { entity, documentName: doc.documentName, stateVectorHex });
		}
	}
	return [...byKey.values()].sort((a, b) =>
		a.entity.id < b.entity.id ? -1 : a.entity.id > b.entity.id ? 1 : 0
	);
}

/**
 * Customers and materials: one upsert that writes only rows whose JSON differs (jsonb equality in
 * the database, no read-back and no canonicalJson on the event loop) and returns what it wrote.
 */
async function upsertChanged(
	tx: Tx,
	kind: 'customer' | 'material',
	rows: readonly PassRow[]
): Promise<Array<{ row: PassRow; version: number; txid: string }>> {
	const table = TABLE[kind];
	const ref = kind === 'material' ? ', job_id' : '';
	const { rows: written } = await tx.query<{ id: string; version: number; txid: string }>(
		`INSERT INTO ${table} AS t (id, data, version, state_vector, changed_by, changed_by_role${ref})
		 SELECT u.id, u.data, 1, decode(u.sv, 'hex'), u.changed_by, u.changed_by_role${ref ? ', u.ref' : ''}
		 FROM unnest($1::uuid[], $2::jsonb[], $3::text[], $4::text[], $5::text[], $6::uuid[])
		   AS u(id, data, sv, changed_by, changed_by_role, ref)
		 ORDER BY u.id
		 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, version = t.version + 1,
		   state_vector = EXCLUDED.state_vector, changed_by = EXCLUDED.changed_by,
		   changed_by_role = EXCLUDED.changed_by_role, projected_at = now()${ref ? ', job_id = EXCLUDED.job_id' : ''}
		 WHERE t.data IS DISTINCT FROM EXCLUDED.data
		 RETURNING t.id::text AS id, t.version, pg_current_xact_id()::text AS txid`,
		[
			rows.map((r) => r.entity.id),
			rows.map((r) => JSON.stringify(r.entity.data)),
			rows.map((r) => r.stateVectorHex),
			rows.map((r) => r.entity.changedBy),
			rows.map((r) => r.entity.changedByRole),
			rows.map((r) => uuidOrNull(r.entity.jobId))
		]
	);
	const byId = new Map(rows.map((r) => [r.entity.id, r]));
	return written.flatMap((w) => {
		const row = byId.get(w.id);
		return row ? [{ row, version: w.version, txid: w.txid }] : [];
	});
}

/**
 * Jobs read their stored row first: the assignment table and REVEAL rows depend on what the crew and
 * customer were before (jobs are few next to materials, so the extra round trip is cheap).
 */
async function writeJobs(
	tx: Tx,
	rows: readonly PassRow[],
	removed: RemovedAssignment[]
): Promise<Array<{ row: PassRow; version: number; txid: string | null }>> {
	const { rows: storedRows } = await tx.query<StoredRow>(
		'SELECT id::text AS id, data, version FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
		[rows.map((r) => r.entity.id)]
	);
	const stored = new Map(storedRows.map((r) => [r.id, r]));
	const writes: Array<{ row: PassRow; version: number; before?: StoredRow }> = [];
	for (const row of rows) {
		const before = stored.get(row.entity.id);
		if (before && canonicalJson(before.data) === canonicalJson(row.entity.data)) continue;
		writes.push({ row, version: (before?.version ?? 0) + 1, ...(before ? { before } : {}) });
	}
	if (writes.length === 0) return [];
	await tx.query(
		`INSERT INTO jobs (id, data, version, state_vector, changed_by, changed_by_role, customer_id)
		 SELECT u.id, u.data, u.version, decode(u.sv, 'hex'), u.changed_by, u.changed_by_role, u.ref
		 FROM unnest($1::uuid[], $2::jsonb[], $3::int[], $4::text[], $5::text[], $6::text[], $7::uuid[])
		   AS u(id, data, version, sv, changed_by, changed_by_role, ref)
		 ORDER BY u.id
		 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, version = EXCLUDED.version,
		   state_vector = EXCLUDED.state_vector, changed_by = EXCLUDED.changed_by,
		   changed_by_role = EXCLUDED.changed_by_role, projected_at = now(), customer_id = EXCLUDED.customer_id`,
		[
			writes.map((w) => w.row.entity.id),
			writes.map((w) => JSON.stringify(w.row.entity.data)),
			writes.map((w) => w.version),
			writes.map((w) => w.row.stateVectorHex),
			writes.map((w) => w.row.entity.changedBy),
			writes.map((w) => w.row.entity.changedByRole),
			writes.map((w) => uuidOrNull(w.row.entity.customerId))
		]
	);
	for (const w of writes) {
		const userIds = await syncJob(tx, w.row.entity, w.before);
		if (userIds.length > 0) removed.push({ jobId: w.row.entity.id, userIds });
	}
	return writes.map((w) => ({ row: w.row, version: w.version, txid: null }));
}

async function currentTxid(tx: Tx): Promise<string | null> {
	const { rows } = await tx.query<{ txid: string }>('SELECT pg_current_xact_id()::text AS txid');
	return rows[0]?.txid ?? null;
}

/** Keeps the job's `job_assignments` rows equal to its crew; returns the users it removed. */
async function syncJob(tx: Tx, job: ProjectedEntity, before: StoredRow | undefined): Promise<string[]> {
	const members = (Array.isArray(job.data.assignedTo) ? job.data.assignedTo : []).filter(
		(m): m is string => typeof m === 'string' && UUID.test(m)
	);
	const previous = Array.isArray(before?.data.assignedTo) ? (before.data.assignedTo as string[]) : [];
	const previousCustomer = before?.data.customerId ?? null;
	if (canonicalJson(members) === canonicalJson(previous) && previousCustomer === job.customerId && before)
		return [];
	const { rows: deleted } = await tx.query<{ user_id: string }>(
		'DELETE FROM job_assignments WHERE job_id = $1 AND NOT (user_id = ANY($2::uuid[])) RETURNING user_id::text AS user_id',
		[job.id, members]
	);
	const removed = deleted.map((r) => r.user_id);
	if (members.length > 0) {
		await tx.query(
			'INSERT INTO job_assignments (job_id, user_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING',
			[job.id, members]
		);
	}
	const gained = members.some((m) => !previous.includes(m)) || previousCustomer !== job.customerId;
	if (!before || !gained) return removed;
	await tx.query(
		`INSERT INTO change_log (entity_type, entity_id, operation, user_id, version, data, state_vector, job_id)
		 SELECT 'material', id, 'REVEAL', changed_by, version, data, state_vector, job_id FROM materials WHERE job_id = $1
		 UNION ALL
		 SELECT 'customer', id, 'REVEAL', changed_by, version, data, state_vector, NULL FROM customers WHERE id = $2`,
		[job.id, uuidOrNull(job.customerId)]
	);
	return removed;
}

/** Hex of the state vector: a text[] parameter decoded in SQL works the same on pg and PGlite. */
function toHex(bytes: Uint8Array): string {
	return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function uuidOrNull(value: string | null): string | null {
	return value !== null && UUID.test(value) ? value : null;
}
