import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '../auth/roles.ts';
import type { Db } from '../db/port.ts';
import { openMigratedTestDb } from '../testing/app.ts';
import { assignedJobIdsFromDb, createDefaultAccess, customerIdsOfJobsFromDb } from './access.ts';

const job1 = '11111111-1111-4111-8111-111111111111';
const job2 = '22222222-2222-4222-8222-222222222222';
const cust1 = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const cust2 = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
const owner: AuthUser = { id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', name: 'O', role: 'OWNER' };
const worker: AuthUser = { id: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', name: 'W', role: 'WORKER' };

describe('default document access', () => {
	const access = createDefaultAccess({
		assignedJobIds: async (userId) => new Set(userId === worker.id ? [job1] : []),
		customerIdsOfJobs: async (jobs) => new Set(jobs.has(job1) ? [cust1] : [])
	});

	it('lets an owner write everything', async () => {
		for (const name of [`job:${job2}`, `materials:${job2}`, `customer:${cust2}`]) {
			expect(await access.access(owner, name)).toBe('write');
		}
	});

	it('lets a worker write assigned jobs and their materials, read their customers, nothing else', async () => {
		expect(await access.access(worker, `job:${job1}`)).toBe('write');
		expect(await access.access(worker, `materials:${job1}`)).toBe('write');
		expect(await access.access(worker, `customer:${cust1}`)).toBe('read');
		expect(await access.access(worker, `job:${job2}`)).toBe('none');
		expect(await access.access(worker, `materials:${job2}`)).toBe('none');
		expect(await access.access(worker, `customer:${cust2}`)).toBe('none');
	});

	it('refuses names it does not serve', async () => {
		expect(await access.access(owner, 'job:not-a-uuid')).toBe('none');
		expect(await access.access(owner, `JOB:${job1}`)).toBe('none');
		expect(await access.access(owner, `customer:${cust1.toUpperCase()}`)).toBe('none');
	});
});

describe('database lookups', () => {
	let db: Db;
	let drop: () => Promise<void>;
	beforeAll(async () => {
		({ db, drop } = await openMigratedTestDb('pglite'));
	});
	afterAll(async () => {
		await drop?.();
	});

	it('reads assignments from job_assignments', async () => {
		await db.query('INSERT INTO job_assignments (job_id, user_id) VALUES ($1, $2), ($3, $2)', [
			job1,
			worker.id,
			job2
		]);
		expect(await assignedJobIdsFromDb(db)(worker.id)).toEqual(new Set([job1, job2]));
		expect(await assignedJobIdsFromDb(db)(owner.id)).toEqual(new Set());
	});

	it("finds the customers of a worker's jobs in the projection's jobs table", async () => {
		await db.query(
			`INSERT INTO jobs (id, customer_id, data, version, state_vector) VALUES ($1, $2, '{}', 1, '\\x00'), ($3, NULL, '{}', 1, '\\x00')`,
			[job1, cust1, job2]
		);
		expect(await customerIdsOfJobsFromDb(db)(new Set([job1, job2]))).toEqual(new Set([cust1]));
		expect(await customerIdsOfJobsFromDb(db)(new Set([job2]))).toEqual(new Set());
	});
});
