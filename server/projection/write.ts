import * as Y from 'yjs';
import { entityPart, JOB } from '../../crdt/index.ts';
import { canonicalJson } from '../../wire/canonical.ts';
import type { Db, Tx } from '../db/port.ts';
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

/** One document's share of a projection pass: its changed entities, each with its state vector. */
export interface DocumentRows {
	documentName: string;
	entities: readonly ProjectedEntity[];
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
	state_vector: Uint8Array;
}

/** A job's owner part as `job_owner_fields` keeps it (migration 007). */
interface OwnerPart {
	data: Record<string, unknown>;
	stateVectorHex: string;
}

/** An entity with the document it came from and its state vector (hex, see `toHex`). */
interface PassRow {
	entity: ProjectedEntity;
	documentName: string;
	stateVectorHex: string;
}

/**
 * Writes the rows of several documents in ONE transaction (bench:server profile: one transaction
 * per document per change was most of our Postgres time), touching only rows whose JSON changed
 * (docs/architecture.md "Projection and change feed": only rows that really changed), each with version + 1 and its document's
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
	const note = (kind: ChangedRow['entity'], row: PassRow, version: number) => {
		const list = changed.get(row.documentName) ?? [];
		list.push({ entity: kind, id: row.entity.id, version });
		changed.set(row.documentName, list);
	};
	if (!rows.some((r) => r.entity.entity === 'job')) {
		// Customers and materials only (every pass of material edits): ONE statement, which is its own
		// transaction — one round trip instead of BEGIN, INSERT, COMMIT (bench:api; the websocket
		// path's profile: each is a Postgres wake-up). Same rows, same lock order, same atomicity.
		const written = await upsertChanged(db, rows);
		let txid: string | null = null;
		for (const w of written) {
			txid ??= w.txid;
			note(w.row.entity.entity, w.row, w.version);
		}
		return { txid, changed, removed: [] };
	}
	return db.transaction(async (tx) => {
		let txid: string | null = null;
		const removed: RemovedAssignment[] = [];
		const customers = rows.filter((r) => r.entity.entity === 'customer');
		if (customers.length > 0) {
			for (const w of await upsertChanged(tx, customers)) {
				txid ??= w.txid;
				note('customer', w.row, w.version);
			}
		}
		for (const w of await writeJobs(
			tx,
			rows.filter((r) => r.entity.entity === 'job'),
			removed
		)) {
			txid ??= w.txid;
			note('job', w.row, w.version);
		}
		const materials = rows.filter((r) => r.entity.entity === 'material');
		if (materials.length > 0) {
			for (const w of await upsertChanged(tx, materials)) {
				txid ??= w.txid;
				note('material', w.row, w.version);
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
		for (const entity of doc.entities) {
			// Two documents claiming one id (a client reusing a UUID) would make ON CONFLICT touch a row twice.
			// A job's owner part is a row of its own (writeJobs merges the two).
			const key = `${entity.entity}:${entity.id}:${entity.part ?? ''}`;
			byKey.set(key, { entity, documentName: doc.documentName, stateVectorHex: toHex(entity.stateVector) });
		}
	}
	return [...byKey.values()].sort((a, b) =>
		a.entity.id < b.entity.id ? -1 : a.entity.id > b.entity.id ? 1 : 0
	);
}

/** The upsert of one kind's rows, its parameters numbered from `$first`. */
function upsertSql(kind: 'customer' | 'material', first: number): string {
	const table = TABLE[kind];
	const ref = kind === 'material' ? ', job_id' : '';
	const $ = (i: number) => `$${first + i}`;
	return `INSERT INTO ${table} AS t (id, data, version, state_vector, changed_by, changed_by_role${ref})
		 SELECT u.id, u.data, 1, decode(u.sv, 'hex'), u.changed_by, u.changed_by_role${ref ? ', u.ref' : ''}
		 FROM unnest(${$(0)}::uuid[], ${jsonbArray($(1))}, ${$(2)}::text[], ${$(3)}::text[], ${$(4)}::text[], ${$(5)}::uuid[])
		   AS u(id, data, sv, changed_by, changed_by_role, ref)
		 ORDER BY u.id
		 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, version = t.version + 1,
		   state_vector = EXCLUDED.state_vector, changed_by = EXCLUDED.changed_by,
		   changed_by_role = EXCLUDED.changed_by_role, projected_at = now()${ref ? ', job_id = EXCLUDED.job_id' : ''}
		 WHERE t.data IS DISTINCT FROM EXCLUDED.data
		 RETURNING '${kind}'::text AS kind, t.id::text AS id, t.version, pg_current_xact_id()::text AS txid`;
}

/**
 * The rows' JSON as ONE JSON array text, unpacked in SQL in its order: as a `jsonb[]` parameter, pg
 * escapes every `"` and `\` of every document into an array literal (`arrayString`), which was
 * 3.2–3.4 % of everything the server allocated at 500 connections, 0.9–1.0 % now (bench:peers
 * BENCH_HEAP_PROFILE, 2 alternating runs each).
 */
function jsonbArray(param: string): string {
	return `ARRAY(SELECT e FROM jsonb_array_elements(${param}::jsonb) WITH ORDINALITY AS a(e, i) ORDER BY i)`;
}

function upsertParams(rows: readonly PassRow[]): unknown[] {
	return [
		rows.map((r) => r.entity.id),
		JSON.stringify(rows.map((r) => r.entity.data)),
		rows.map((r) => r.stateVectorHex),
		rows.map((r) => r.entity.changedBy),
		rows.map((r) => r.entity.changedByRole),
		rows.map((r) => uuidOrNull(r.entity.jobId))
	];
}

/**
 * Customers and materials: one upsert per kind that writes only rows whose JSON differs (jsonb
 * equality in the database, no read-back and no canonicalJson on the event loop) and returns what
 * it wrote. Both kinds are one statement: data-modifying CTEs, customers' first — the outer UNION ALL
 * reads `c` to its end before `m`, so rows are locked customers then materials, each in id order,
 * as in the transaction with jobs.
 */
async function upsertChanged(
	on: Pick<Tx, 'query'>,
	rows: readonly PassRow[]
): Promise<Array<{ row: PassRow; version: number; txid: string }>> {
	const customers = rows.filter((r) => r.entity.entity === 'customer');
	const materials = rows.filter((r) => r.entity.entity === 'material');
	let sql: string;
	let params: unknown[];
	if (customers.length > 0 && materials.length > 0) {
		sql = `WITH c AS (${upsertSql('customer', 1)}), m AS (${upsertSql('material', 7)})
		 SELECT * FROM c UNION ALL SELECT * FROM m`;
		params = [...upsertParams(customers), ...upsertParams(materials)];
	} else {
		sql = upsertSql(customers.length > 0 ? 'customer' : 'material', 1);
		params = upsertParams(customers.length > 0 ? customers : materials);
	}
	const { rows: written } = await on.query<{
		kind: 'customer' | 'material';
		id: string;
		version: number;
		txid: string;
	}>(sql, params);
	const byKey = new Map(rows.map((r) => [`${r.entity.entity}:${r.entity.id}`, r]));
	return written.flatMap((w) => {
		const row = byKey.get(`${w.kind}:${w.id}`);
		return row ? [{ row, version: w.version, txid: w.txid }] : [];
	});
}

/**
 * Jobs read their stored row first: the assignment table and REVEAL rows depend on what the crew and
 * customer were before (jobs are few next to materials, so the extra round trip is cheap). A job's
 * row is its crew part (`job:`) merged with its owner part (`job-owner:`, kept in `job_owner_fields`
 * so either document can be projected alone); its state vector is the merge of both documents'.
 */
async function writeJobs(
	tx: Tx,
	rows: readonly PassRow[],
	removed: RemovedAssignment[]
): Promise<Array<{ row: PassRow; version: number; txid: string | null }>> {
	const ids = [...new Set(rows.map((r) => r.entity.id))];
	const { rows: storedRows } = await tx.query<StoredRow>(
		'SELECT id::text AS id, data, version, state_vector FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
		[ids]
	);
	const stored = new Map(storedRows.map((r) => [r.id, r]));
	const owners = await writeOwnerParts(
		tx,
		ids,
		rows.filter((r) => r.entity.part === 'owner')
	);
	const writes = planJobWrites(ids, rows, stored, owners);
	if (writes.length === 0) return [];
	await tx.query(
		`INSERT INTO jobs (id, data, version, state_vector, changed_by, changed_by_role, customer_id)
		 SELECT u.id, u.data, u.version, decode(u.sv, 'hex'), u.changed_by, u.changed_by_role, u.ref
		 FROM unnest($1::uuid[], ${jsonbArray('$2')}, $3::int[], $4::text[], $5::text[], $6::text[], $7::uuid[])
		   AS u(id, data, version, sv, changed_by, changed_by_role, ref)
		 ORDER BY u.id
		 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, version = EXCLUDED.version,
		   state_vector = EXCLUDED.state_vector, changed_by = EXCLUDED.changed_by,
		   changed_by_role = EXCLUDED.changed_by_role, projected_at = now(), customer_id = EXCLUDED.customer_id`,
		[
			writes.map((w) => w.row.entity.id),
			JSON.stringify(writes.map((w) => w.data)),
			writes.map((w) => w.version),
			writes.map((w) => w.sv),
			writes.map((w) => w.row.entity.changedBy),
			writes.map((w) => w.row.entity.changedByRole),
			writes.map((w) => uuidOrNull(customerIdOf(w.data)))
		]
	);
	for (const w of writes) {
		const job = {
			...w.row.entity,
			data: w.data as ProjectedEntity['data'],
			customerId: customerIdOf(w.data)
		};
		const userIds = await syncJob(tx, job, w.before);
		if (userIds.length > 0) removed.push({ jobId: w.row.entity.id, userIds });
	}
	return writes.map((w) => ({ row: w.row, version: w.version, txid: null }));
}

interface JobWrite {
	/** The row that caused the write (the crew part's, else the owner part's): changedBy comes from it. */
	row: PassRow;
	data: Record<string, unknown>;
	/** The merged state vector, hex. */
	sv: string;
	version: number;
	before?: StoredRow;
}

/** Each job's merged row (SPEC AUD-2, VIS-2), for the jobs whose merged JSON changed. */
function planJobWrites(
	ids: readonly string[],
	rows: readonly PassRow[],
	stored: ReadonlyMap<string, StoredRow>,
	owners: ReadonlyMap<string, OwnerPart>
): JobWrite[] {
	const writes: JobWrite[] = [];
	for (const id of ids) {
		const shared = rows.find((r) => r.entity.id === id && r.entity.part === undefined);
		const ownerRow = rows.find((r) => r.entity.id === id && r.entity.part === 'owner');
		const before = stored.get(id);
		// An owner part without its job (created offline, the job not yet synced) waits in job_owner_fields.
		if (!shared && !before) continue;
		const owner = owners.get(id);
		const data = mergeParts(shared?.entity.data ?? (before?.data as Record<string, unknown>), owner?.data);
		if (before && canonicalJson(before.data) === canonicalJson(data)) continue;
		const sv = mergeStateVectors(
			shared ? shared.stateVectorHex : toHex(before?.state_vector ?? new Uint8Array()),
			owner?.stateVectorHex
		);
		const row = (shared ?? ownerRow) as PassRow;
		writes.push({ row, data, sv, version: (before?.version ?? 0) + 1, ...(before ? { before } : {}) });
	}
	return writes;
}

/** Stores the owner parts of this pass; returns every involved job's owner part as stored now. */
async function writeOwnerParts(
	tx: Tx,
	jobIds: readonly string[],
	ownerRows: readonly PassRow[]
): Promise<Map<string, OwnerPart>> {
	if (ownerRows.length > 0) {
		await tx.query(
			`INSERT INTO job_owner_fields AS t (job_id, data, state_vector, changed_by, changed_by_role)
			 SELECT u.id, u.data, decode(u.sv, 'hex'), u.changed_by, u.changed_by_role
			 FROM unnest($1::uuid[], ${jsonbArray('$2')}, $3::text[], $4::text[], $5::text[])
			   AS u(id, data, sv, changed_by, changed_by_role)
			 ORDER BY u.id
			 ON CONFLICT (job_id) DO UPDATE SET data = EXCLUDED.data, state_vector = EXCLUDED.state_vector,
			   changed_by = EXCLUDED.changed_by, changed_by_role = EXCLUDED.changed_by_role`,
			[
				ownerRows.map((r) => r.entity.id),
				JSON.stringify(ownerRows.map((r) => r.entity.data)),
				ownerRows.map((r) => r.stateVectorHex),
				ownerRows.map((r) => r.entity.changedBy),
				ownerRows.map((r) => r.entity.changedByRole)
			]
		);
	}
	const { rows } = await tx.query<{
		job_id: string;
		data: Record<string, unknown>;
		state_vector: Uint8Array;
	}>(
		'SELECT job_id::text AS job_id, data, state_vector FROM job_owner_fields WHERE job_id = ANY($1::uuid[])',
		[jobIds]
	);
	return new Map(rows.map((r) => [r.job_id, { data: r.data, stateVectorHex: toHex(r.state_vector) }]));
}

/** The job as an owner reads it: crew part, owner part (price: null until an owner sets it), latest `updatedAt`. */
function mergeParts(
	shared: Record<string, unknown>,
	owner: Record<string, unknown> | undefined
): Record<string, unknown> {
	const { updatedAt: ownerUpdatedAt = 0, ...ownerFields } = owner ?? {};
	return {
		...shared,
		...OWNER_PART_EMPTY,
		...ownerFields,
		updatedAt: Math.max(Number(shared.updatedAt ?? 0), Number(ownerUpdatedAt))
	};
}

/** Every owner-only job field at its empty value (schema `empty`), so a job's JSON always has them. */
const OWNER_PART_EMPTY: Readonly<Record<string, unknown>> = Object.fromEntries(
	Object.entries(entityPart(JOB, 'owner').fields).flatMap(([field, spec]) =>
		spec.kind === 'register' ? [[field, spec.empty]] : []
	)
);

/** Clock-wise maximum of two state vectors (hex): what an operation based on the merged row has seen. */
function mergeStateVectors(aHex: string, bHex: string | undefined): string {
	if (!bHex) return aHex;
	const merged = Y.decodeStateVector(Buffer.from(aHex, 'hex'));
	for (const [client, clock] of Y.decodeStateVector(Buffer.from(bHex, 'hex')))
		merged.set(client, Math.max(clock, merged.get(client) ?? 0));
	return toHex(Y.encodeStateVector(merged));
}

function customerIdOf(data: Record<string, unknown>): string | null {
	return typeof data.customerId === 'string' ? data.customerId : null;
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
