import type { Db, Tx } from '../db/port.ts';
import { canonicalJson } from '../sync/canonical.ts';
import type { ProjectedEntity } from './extract.ts';

/** What one projection transaction wrote. */
export interface ProjectionResult {
	/** Entities whose JSON changed (each got version + 1). */
	changed: Array<{ entity: ProjectedEntity['entity']; id: string; version: number }>;
	/** The writing transaction's id (`pg_current_xact_id()`), when anything was written. */
	txid: string | null;
}

const TABLE = { customer: 'customers', job: 'jobs', material: 'materials' } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface StoredRow {
	id: string;
	data: Record<string, unknown>;
	version: number;
}

/**
 * Writes one document's entities in one transaction, touching only rows whose JSON changed (issue 4:
 * "only rows that really changed are written"), each with version + 1 and the document's state vector.
 * Rows are locked first, so two instances projecting the same document serialize on them; both read
 * the converged document, so the second finds nothing changed.
 * Jobs also keep `job_assignments` (the websocket ACL) equal to `assignedTo`, and a job whose crew or
 * customer changed re-announces its materials and customer (`REVEAL`) so newly assigned workers
 * receive them on their next pull.
 */
export async function writeProjection(
	db: Db,
	entities: readonly ProjectedEntity[],
	stateVector: Uint8Array
): Promise<ProjectionResult> {
	if (entities.length === 0) return { changed: [], txid: null };
	return db.transaction(async (tx) => {
		const changed: ProjectionResult['changed'] = [];
		for (const kind of ['customer', 'job', 'material'] as const) {
			const ofKind = entities.filter((e) => e.entity === kind);
			if (ofKind.length > 0) changed.push(...(await writeKind(tx, kind, ofKind, stateVector)));
		}
		if (changed.length === 0) return { changed, txid: null };
		const { rows } = await tx.query<{ txid: string }>('SELECT pg_current_xact_id()::text AS txid');
		return { changed, txid: rows[0]?.txid ?? null };
	});
}

async function writeKind(
	tx: Tx,
	kind: ProjectedEntity['entity'],
	entities: readonly ProjectedEntity[],
	stateVector: Uint8Array
): Promise<ProjectionResult['changed']> {
	const table = TABLE[kind];
	const ids = entities.map((e) => e.id);
	const { rows } = await tx.query<StoredRow>(
		`SELECT id::text AS id, data, version FROM ${table} WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
		[ids]
	);
	const stored = new Map(rows.map((r) => [r.id, r]));
	const writes: Array<{ entity: ProjectedEntity; version: number; before?: StoredRow }> = [];
	for (const entity of entities) {
		const before = stored.get(entity.id);
		if (before && canonicalJson(before.data) === canonicalJson(entity.data)) continue;
		writes.push({ entity, version: (before?.version ?? 0) + 1, ...(before ? { before } : {}) });
	}
	if (writes.length === 0) return [];
	// One statement per kind: unnest keeps a 100-material burst to one round trip.
	await tx.query(
		`INSERT INTO ${table} (id, data, version, state_vector, changed_by, changed_by_role${kind === 'customer' ? '' : kind === 'job' ? ', customer_id' : ', job_id'})
		 SELECT u.id, u.data, u.version, $4::bytea, u.changed_by, u.changed_by_role${kind === 'customer' ? '' : ', u.ref'}
		 FROM unnest($1::uuid[], $2::jsonb[], $3::int[], $5::text[], $6::text[], $7::uuid[])
		   AS u(id, data, version, changed_by, changed_by_role, ref)
		 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, version = EXCLUDED.version,
		   state_vector = EXCLUDED.state_vector, changed_by = EXCLUDED.changed_by,
		   changed_by_role = EXCLUDED.changed_by_role, projected_at = now()${kind === 'customer' ? '' : kind === 'job' ? ', customer_id = EXCLUDED.customer_id' : ', job_id = EXCLUDED.job_id'}`,
		[
			writes.map((w) => w.entity.id),
			writes.map((w) => JSON.stringify(w.entity.data)),
			writes.map((w) => w.version),
			stateVector,
			writes.map((w) => w.entity.changedBy),
			writes.map((w) => w.entity.changedByRole),
			writes.map((w) => uuidOrNull(kind === 'job' ? w.entity.customerId : w.entity.jobId))
		]
	);
	if (kind === 'job') for (const w of writes) await syncJob(tx, w.entity, w.before);
	return writes.map((w) => ({ entity: kind, id: w.entity.id, version: w.version }));
}

async function syncJob(tx: Tx, job: ProjectedEntity, before: StoredRow | undefined): Promise<void> {
	const members = (Array.isArray(job.data.assignedTo) ? job.data.assignedTo : []).filter(
		(m): m is string => typeof m === 'string' && UUID.test(m)
	);
	const previous = Array.isArray(before?.data.assignedTo) ? (before.data.assignedTo as string[]) : [];
	const previousCustomer = before?.data.customerId ?? null;
	if (canonicalJson(members) === canonicalJson(previous) && previousCustomer === job.customerId && before)
		return;
	await tx.query('DELETE FROM job_assignments WHERE job_id = $1 AND NOT (user_id = ANY($2::uuid[]))', [
		job.id,
		members
	]);
	if (members.length > 0) {
		await tx.query(
			'INSERT INTO job_assignments (job_id, user_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING',
			[job.id, members]
		);
	}
	const gained = members.some((m) => !previous.includes(m)) || previousCustomer !== job.customerId;
	if (!before || !gained) return;
	await tx.query(
		`INSERT INTO change_log (entity_type, entity_id, operation, user_id, version, data, state_vector, job_id)
		 SELECT 'material', id, 'REVEAL', changed_by, version, data, state_vector, job_id FROM materials WHERE job_id = $1
		 UNION ALL
		 SELECT 'customer', id, 'REVEAL', changed_by, version, data, state_vector, NULL FROM customers WHERE id = $2`,
		[job.id, uuidOrNull(job.customerId)]
	);
}

function uuidOrNull(value: string | null): string | null {
	return value !== null && UUID.test(value) ? value : null;
}
