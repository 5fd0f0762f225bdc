import { ENTITY_NAMES, type EntityName, isUuid } from '../../crdt/index.ts';
import type { Db } from '../db/port.ts';
import type { BaseVersion } from './apply.ts';
import { waitPullable } from './change-feed.ts';
import { SyncError } from './errors.ts';
import type { SyncOperation } from './operation.ts';

/**
 * What a push reads from SQL: the facts it decides with before any write (which job a material is
 * on, current versions, the base versions operations name), who is on which job, and the rows as
 * they are after the apply. Every lookup in a few round trips, not two per operation (bench:api).
 */
const TABLE: Readonly<Record<EntityName, string>> = {
	customer: 'customers',
	job: 'jobs',
	material: 'materials'
};

/** An operation as the lookups need it: what it is about. */
export interface Target {
	op: SyncOperation;
	entityId: string;
}

export interface Facts {
	materialJob: Map<string, string>;
	current: Map<string, number>;
	bases: Map<string, BaseVersion>;
}

export async function prefetch(db: Db, targets: readonly Target[]): Promise<Facts> {
	const facts: Facts = { materialJob: new Map(), current: new Map(), bases: new Map() };
	for (const entity of ENTITY_NAMES) {
		const wanted = targets.filter((t) => t.op.entity === entity).map((t) => t.entityId);
		if (wanted.length === 0) continue;
		const { rows } = await db.query<{ id: string; version: number; job_id: string | null }>(
			`SELECT id::text AS id, version, ${entity === 'material' ? 'job_id::text' : 'NULL::text'} AS job_id
			 FROM ${TABLE[entity]} WHERE id = ANY($1::uuid[])`,
			[wanted]
		);
		for (const row of rows) {
			facts.current.set(`${entity}:${row.id}`, row.version);
			if (row.job_id) facts.materialJob.set(row.id, row.job_id);
		}
	}
	const based = targets.filter((t) => t.op.version !== undefined);
	if (based.length > 0) {
		const { rows } = await db.query<{
			entity_type: string;
			entity_id: string;
			version: number;
			data: Record<string, unknown>;
			state_vector: Uint8Array;
		}>(
			`SELECT DISTINCT ON (c.entity_type, c.entity_id, c.version)
			   c.entity_type, c.entity_id::text AS entity_id, c.version, c.data, c.state_vector
			 FROM change_log c
			 JOIN unnest($1::text[], $2::uuid[], $3::int[]) AS w(entity_type, entity_id, version)
			   ON c.entity_type = w.entity_type AND c.entity_id = w.entity_id AND c.version = w.version
			 WHERE c.operation IN ('INSERT', 'UPDATE')
			 ORDER BY c.entity_type, c.entity_id, c.version, c.seq DESC`,
			[based.map((t) => t.op.entity), based.map((t) => t.entityId), based.map((t) => t.op.version)]
		);
		for (const row of rows) {
			facts.bases.set(`${row.entity_type}:${row.entity_id}:${row.version}`, {
				version: row.version,
				data: row.data,
				stateVector: row.state_vector
			});
		}
	}
	return facts;
}

/** The document an operation writes, and the job it belongs to (null for a customer). */
export function documentOf(
	op: SyncOperation,
	entityId: string,
	facts: Facts
): { docName: string; jobId: string | null } {
	if (op.entity === 'customer') return { docName: `customer:${entityId}`, jobId: null };
	if (op.entity === 'job') return { docName: `job:${entityId}`, jobId: entityId };
	const hinted = op.data?.jobId;
	const jobId = facts.materialJob.get(entityId) ?? (typeof hinted === 'string' ? hinted : undefined);
	if (!jobId) {
		if (op.type === 'create')
			throw new SyncError('missing_field', 'a material create needs data.jobId', 'data.jobId');
		throw new SyncError('not_found', `no material ${entityId}`, 'entityId');
	}
	if (!isUuid(jobId))
		throw new SyncError('invalid_field', 'data.jobId must be a lower-case UUID', 'data.jobId');
	return { docName: `materials:${jobId}`, jobId };
}

export async function assignedJobs(db: Db, userId: string): Promise<Set<string>> {
	const { rows } = await db.query<{ job_id: string }>(
		'SELECT job_id::text AS job_id FROM job_assignments WHERE user_id = $1',
		[userId]
	);
	return new Set(rows.map((r) => r.job_id));
}

/** The entity's current version and the base the operation names; a version from the future is refused. */
export function versions(
	op: SyncOperation,
	entityId: string,
	facts: Facts
): { currentVersion: number; base: BaseVersion | null } {
	const currentVersion = facts.current.get(`${op.entity}:${entityId}`) ?? 0;
	if (op.version === undefined) return { currentVersion, base: null };
	if (op.version > currentVersion) {
		throw new SyncError(
			'invalid_field',
			`version ${op.version} is newer than the server's ${currentVersion}`,
			'version'
		);
	}
	return { currentVersion, base: facts.bases.get(`${op.entity}:${entityId}:${op.version}`) ?? null };
}

/**
 * The rows as they are now, keyed `entity:id`, for the operations that were not rejected — and,
 * when `pullable` names a transaction, not before it is pullable (docs/rest-api.md "Durable before
 * 200", read-your-writes). One statement reads every entity kind and checks the transaction
 * against the feed's horizon (bench:api: these were up to four sequential round trips); only when
 * an older transaction still holds the horizon back does `waitPullable` poll on. The rows are read
 * after the projection committed, so they hold at least what it wrote.
 */
export async function finalRows(
	db: Db,
	targets: ReadonlyArray<Target & { failed: boolean }>,
	pullable: { txid: string | null; timeoutMs?: number | undefined } = { txid: null }
): Promise<Map<string, { data: Record<string, unknown>; version: number }>> {
	const params: unknown[] = [pullable.txid];
	const parts = [
		'SELECT NULL::text AS entity, NULL::text AS id, NULL::jsonb AS data, NULL::int AS version,' +
			' ($1::xid8 IS NULL OR $1::xid8 < pg_snapshot_xmin(pg_current_snapshot())) AS pullable'
	];
	for (const entity of ENTITY_NAMES) {
		const ids = targets.filter((t) => t.op.entity === entity && !t.failed).map((t) => t.entityId);
		if (ids.length === 0) continue;
		params.push(ids);
		parts.push(
			`SELECT '${entity}', id::text, data, version, NULL FROM ${TABLE[entity]} WHERE id = ANY($${params.length}::uuid[])`
		);
	}
	const { rows } = await db.query<{
		entity: string | null;
		id: string | null;
		data: Record<string, unknown>;
		version: number;
		pullable: boolean | null;
	}>(parts.join(' UNION ALL '), params);
	const found = new Map<string, { data: Record<string, unknown>; version: number }>();
	let visible = false;
	for (const row of rows) {
		if (row.entity === null) visible = row.pullable === true;
		else found.set(`${row.entity}:${row.id}`, { data: row.data, version: row.version });
	}
	if (!visible && pullable.txid !== null)
		await waitPullable(db, pullable.txid, { timeoutMs: pullable.timeoutMs });
	return found;
}
