import { type EntityName, OWNER_ONLY_FIELDS } from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';

/**
 * What a caller may see (docs/rest-api.md "Visibility", VIS-1): an owner everything; a worker the
 * jobs assigned to them, those jobs' materials and customers, and never `price`. Everything a worker
 * cannot see is absent from pull, checksums, push responses and the board.
 */
export type { EntityName };

/** The entity JSON as `user` may see it (a copy; the input is untouched). */
export function visibleData<T extends Record<string, unknown>>(
	user: AuthUser,
	entity: EntityName,
	data: T
): T {
	if (user.role === 'OWNER') return data;
	const copy = { ...data };
	for (const field of OWNER_ONLY_FIELDS[entity]) delete copy[field];
	return copy;
}

/**
 * `visibleData` as a SQL expression over a jsonb `data` of an entity named by `entityColumn`: the
 * same rule (OWNER_ONLY_FIELDS) where the pull builds its page in the database (change-feed.ts).
 */
export function visibleDataSql(user: AuthUser, entityColumn: string, data: string): string {
	if (user.role === 'OWNER') return data;
	const hidden = Object.entries(OWNER_ONLY_FIELDS).filter(([, fields]) => fields.length > 0);
	if (hidden.length === 0) return data;
	const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
	const cases = hidden.map(
		([entity, fields]) =>
			`WHEN ${literal(entity)} THEN ${data} - ARRAY[${fields.map(literal).join(', ')}]::text[]`
	);
	return `(CASE ${entityColumn} ${cases.join(' ')} ELSE ${data} END)`;
}

/**
 * SQL condition over a row with `entity_type`, `entity_id` and `job_id` columns (aliased `alias`),
 * true when the worker `$userParam` may see it. Current assignments decide, so a worker removed from
 * a job stops seeing it at once.
 */
export function workerVisibleSql(alias: string, userParam: string): string {
	return `(
		(${alias}.entity_type IN ('job', 'material') AND ${alias}.job_id IN
			(SELECT job_id FROM job_assignments WHERE user_id = ${userParam}))
		OR (${alias}.entity_type = 'customer' AND ${alias}.entity_id IN
			(SELECT j.customer_id FROM jobs j JOIN job_assignments a ON a.job_id = j.id
			 WHERE a.user_id = ${userParam} AND j.customer_id IS NOT NULL))
	)`;
}

/** The projected rows of `entity` visible to `user`, as a `FROM` source with `entity_type`, `entity_id`, `job_id`. */
export function visibleRowsSql(entity: EntityName, user: AuthUser, userParam: string): string {
	const source =
		entity === 'customer'
			? `(SELECT 'customer'::text AS entity_type, id AS entity_id, NULL::uuid AS job_id, data, version FROM customers)`
			: entity === 'job'
				? `(SELECT 'job'::text AS entity_type, id AS entity_id, id AS job_id, data, version FROM jobs)`
				: `(SELECT 'material'::text AS entity_type, id AS entity_id, job_id, data, version FROM materials)`;
	const where = user.role === 'OWNER' ? 'true' : workerVisibleSql('v', userParam);
	return `(SELECT * FROM ${source} v WHERE ${where})`;
}
