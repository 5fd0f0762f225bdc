import { parseDocName } from '../../crdt/doc-names.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { Db } from '../db/port.ts';

/** What a user may do with one document: edit it, only read it, or not open it at all. */
export type AccessLevel = 'write' | 'read' | 'none';

/**
 * The port that decides document access for websocket connections (and any other caller that
 * opens documents on a user's behalf). Called once per document connection, in `onAuthenticate`.
 */
export interface DocumentAccess {
	/**
	 * The access `user` has to the document named `docName` (already known to be a valid
	 * `job:`/`materials:`/`customer:` name). Must not throw for "no access": return `'none'`.
	 * A rejection is treated as `'none'` and logged.
	 */
	access(user: AuthUser, docName: string): Promise<AccessLevel>;
}

/** The ids of the jobs a user is assigned to (crew membership). */
export type AssignedJobIds = (userId: string) => Promise<Set<string>>;

/** The customer ids of the given jobs. */
export type CustomerIdsOfJobs = (jobIds: ReadonlySet<string>) => Promise<Set<string>>;

/**
 * The product's policy (docs/documents.md; server rules ACC-1…4): a person's own
 * `private-notes:<jobId>:<userId>` is theirs alone — owners included, since the app promises
 * "not shown to other users"; an OWNER writes every other document; a WORKER writes the
 * `job:`/`materials:` documents of jobs assigned to them, may read the `customer:` document of a
 * customer of one of those jobs, and opens nothing else (never `job-owner:`). Field-level rules
 * inside a writable document (assignments, tombstones…) are enforced per update (write-rules.ts).
 */
export function createDefaultAccess(deps: {
	assignedJobIds: AssignedJobIds;
	customerIdsOfJobs: CustomerIdsOfJobs;
}): DocumentAccess {
	return {
		async access(user, docName) {
			const doc = parseDocName(docName);
			if (!doc) return 'none';
			if (doc.kind === 'private-notes') return doc.userId === user.id ? 'write' : 'none';
			if (user.role === 'OWNER') return 'write';
			if (user.role !== 'WORKER' || doc.kind === 'job-owner') return 'none';
			const jobs = await deps.assignedJobIds(user.id);
			if (doc.kind === 'job' || doc.kind === 'materials') return jobs.has(doc.id) ? 'write' : 'none';
			if (jobs.size === 0) return 'none';
			const customers = await deps.customerIdsOfJobs(jobs);
			return customers.has(doc.id) ? 'read' : 'none';
		}
	};
}

/** Assignments from `job_assignments` (migration 002; the projection keeps it current). */
export function assignedJobIdsFromDb(db: Db): AssignedJobIds {
	return async (userId) => {
		const { rows } = await db.query<{ job_id: string }>(
			'SELECT job_id FROM job_assignments WHERE user_id = $1',
			[userId]
		);
		return new Set(rows.map((r) => r.job_id));
	};
}

/**
 * Customers of jobs from the projection's `jobs` table (migration 003, applied before the server
 * starts). A failing query rejects: `onAuthenticate` logs it and denies with `access_error`.
 */
export function customerIdsOfJobsFromDb(db: Db): CustomerIdsOfJobs {
	return async (jobIds) => {
		if (jobIds.size === 0) return new Set();
		const { rows } = await db.query<{ customer_id: string | null }>(
			'SELECT DISTINCT customer_id FROM jobs WHERE id = ANY($1::uuid[])',
			[[...jobIds]]
		);
		return new Set(rows.flatMap((r) => (r.customer_id ? [r.customer_id] : [])));
	};
}
