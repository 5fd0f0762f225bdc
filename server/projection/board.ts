import { isJobStatus } from '../../crdt/schema.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { Db } from '../db/port.ts';
import type { Board, CustomerSummary, User } from '../sync/schemas.ts';

/**
 * Read models the SvelteKit app codes against, served from the projected tables. Their shapes are
 * the response schemas' (server/sync/schemas.ts), which the app imports type-only. A worker sees
 * only their jobs, and never `price` (none of these shapes carries it).
 */

const NOT_DELETED = `coalesce((data->>'deleted')::boolean, false) = false`;

export async function readBoard(db: Db, user: AuthUser): Promise<Board> {
	const owner = user.role === 'OWNER';
	const { rows: jobs } = await db.query<{ id: string; data: Record<string, unknown> }>(
		`SELECT id::text AS id, data FROM jobs WHERE ${NOT_DELETED}
		 ${owner ? '' : 'AND id IN (SELECT job_id FROM job_assignments WHERE user_id = $1)'}
		 ORDER BY coalesce((data->>'scheduledStart')::float8, 'infinity'::float8), data->>'title', id`,
		owner ? [] : [user.id]
	);
	if (jobs.length === 0) return { jobs: [] };
	const jobIds = jobs.map((j) => j.id);
	const customerIds = [
		...new Set(jobs.map((j) => j.data.customerId).filter((c): c is string => typeof c === 'string'))
	];
	const userIds = [
		...new Set(jobs.flatMap((j) => (Array.isArray(j.data.assignedTo) ? (j.data.assignedTo as string[]) : [])))
	];
	const [{ rows: customers }, { rows: counts }, { rows: users }] = await Promise.all([
		db.query<{ id: string; name: string }>(
			`SELECT id::text AS id, coalesce(data->>'name', '') AS name FROM customers WHERE id::text = ANY($1::text[])`,
			[customerIds]
		),
		db.query<{ job_id: string; total: number; purchased: number }>(
			`SELECT job_id::text AS job_id, count(*)::int AS total,
			   (count(*) FILTER (WHERE coalesce((data->>'purchased')::boolean, false)))::int AS purchased
			 FROM materials WHERE job_id = ANY($1::uuid[]) AND ${NOT_DELETED} GROUP BY job_id`,
			[jobIds]
		),
		db.query<{ id: string; name: string }>(
			'SELECT id::text AS id, name FROM users WHERE id::text = ANY($1::text[])',
			[userIds]
		)
	]);
	const customerName = new Map(customers.map((c) => [c.id, c.name]));
	const userName = new Map(users.map((u) => [u.id, u.name]));
	const materialCounts = new Map(counts.map((c) => [c.job_id, { purchased: c.purchased, total: c.total }]));
	return {
		jobs: jobs.map(({ id, data }) => {
			const customerId = typeof data.customerId === 'string' ? data.customerId : null;
			const customerKnown = customerId !== null && customerName.has(customerId);
			return {
				id,
				title: String(data.title ?? ''),
				// The projection stores what the crdt views read, always a status; 'lead' is the field's empty value.
				status: isJobStatus(data.status) ? data.status : 'lead',
				customer: customerKnown ? { id: customerId, name: customerName.get(customerId) ?? '' } : null,
				assignedTo: (Array.isArray(data.assignedTo) ? (data.assignedTo as string[]) : []).map((member) => ({
					id: member,
					name: userName.get(member) ?? 'Unknown user'
				})),
				scheduledStart: typeof data.scheduledStart === 'number' ? data.scheduledStart : null,
				scheduledEnd: typeof data.scheduledEnd === 'number' ? data.scheduledEnd : null,
				materials: materialCounts.get(id) ?? { purchased: 0, total: 0 },
				updatedAt: typeof data.updatedAt === 'number' ? data.updatedAt : 0
			};
		})
	};
}

export async function readUsers(db: Db): Promise<User[]> {
	const { rows } = await db.query<User>('SELECT id::text AS id, name, role FROM users ORDER BY name, id');
	return rows;
}

export async function readCustomers(db: Db, user: AuthUser): Promise<CustomerSummary[]> {
	const owner = user.role === 'OWNER';
	const { rows } = await db.query<{ id: string; data: Record<string, unknown> }>(
		`SELECT id::text AS id, data FROM customers WHERE ${NOT_DELETED}
		 ${
				owner
					? ''
					: `AND id IN (SELECT j.customer_id FROM jobs j JOIN job_assignments a ON a.job_id = j.id WHERE a.user_id = $1)`
			}
		 ORDER BY data->>'name', id`,
		owner ? [] : [user.id]
	);
	return rows.map(({ id, data }) => {
		const summary: CustomerSummary = { id, name: String(data.name ?? '') };
		for (const field of ['phone', 'email', 'address'] as const) {
			if (typeof data[field] === 'string' && data[field] !== '') summary[field] = data[field] as string;
		}
		if (typeof data.updatedAt === 'number') summary.updatedAt = data.updatedAt;
		return summary;
	});
}
