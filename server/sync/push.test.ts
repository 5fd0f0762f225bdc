import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PullResponseSchema, PushResponseSchema } from './schemas.ts';
import { op, type SyncTestServer, startSyncServer, uuid } from './test-support.ts';

describe.each(['pg', 'pglite'] as const)('push and pull (%s)', (kind) => {
	let server: SyncTestServer;
	let owner: string;
	let ownerId: string;
	let worker: string;
	let workerId: string;

	beforeAll(async () => {
		server = await startSyncServer(kind);
		ownerId = (await server.addUser('owner@x.test', 'OWNER')).id;
		workerId = (await server.addUser('worker@x.test', 'WORKER')).id;
		owner = await server.login('owner@x.test');
		worker = await server.login('worker@x.test');
	});
	afterAll(() => server?.close());

	const pushOps = async (token: string, operations: unknown[], extra: Record<string, unknown> = {}) => {
		const res = await server.call(token, 'POST', '/api/sync/push', {
			operations,
			deviceId: 'dev-1',
			...extra
		});
		expect(res.status, JSON.stringify(res.body)).toBe(200);
		return PushResponseSchema.parse(res.body);
	};
	const pullAll = async (token: string, from?: string, query = '') => {
		const changes = [];
		const deletions = [];
		let cursor = from;
		for (;;) {
			const qs = new URLSearchParams(query);
			if (cursor) qs.set('lastSyncToken', cursor);
			const res = await server.call(token, 'GET', `/api/sync/pull?${qs}`);
			expect(res.status, JSON.stringify(res.body)).toBe(200);
			const page = PullResponseSchema.parse(res.body);
			changes.push(...page.changes);
			deletions.push(...page.deletions);
			cursor = page.syncToken;
			if (!page.hasMore) break;
		}
		return { changes, deletions, token: cursor as string };
	};

	it('commits the updates of every document a push writes together: one update-log batch, not one per straggler', async () => {
		const jobs = Array.from({ length: 10 }, () => uuid());
		const operations = Array.from({ length: 50 }, (_, i) =>
			op({
				type: 'create',
				entity: 'material',
				entityId: uuid(),
				data: { jobId: jobs[i % jobs.length], name: `item ${i}`, quantity: 1, unit: 'pcs', purchased: false }
			})
		);
		const batches: number[] = [];
		const query = server.db.query.bind(server.db);
		server.db.query = (sql, params) => {
			if (sql.startsWith('INSERT INTO doc_updates')) batches.push((params?.length ?? 0) / 2);
			return query(sql, params);
		};
		try {
			const result = await pushOps(owner, operations);
			expect(result.processed.every((p) => p.status === 'applied')).toBe(true);
		} finally {
			server.db.query = query;
		}
		expect(batches).toEqual([jobs.length]);
	});

	it('creates entities, reads them back on pull (read-your-writes), hides price from workers', async () => {
		const customerId = uuid();
		const jobId = uuid();
		const materialId = uuid();
		const result = await pushOps(owner, [
			op({ type: 'create', entity: 'customer', entityId: customerId, data: { name: 'Acme', phone: '555' } }),
			op({
				type: 'create',
				entity: 'job',
				entityId: jobId,
				data: { title: 'Roof', customerId, price: 1200, assignedTo: [workerId] }
			}),
			op({
				type: 'create',
				entity: 'material',
				entityId: materialId,
				data: { jobId, name: 'Nails', quantity: 3, unit: 'box' }
			})
		]);
		expect(result.processed.map((p) => p.status)).toEqual(['applied', 'applied', 'applied']);
		expect(result.processed.every((p) => p.version === 1)).toBe(true);

		const all = await pullAll(owner);
		const job = all.changes.find((c) => c.entityId === jobId);
		expect(job).toMatchObject({ entity: 'job', operation: 'create', version: 1, changedBy: ownerId });
		expect(job?.data).toMatchObject({ title: 'Roof', price: 1200, assignedTo: [workerId], version: 1 });
		expect(all.changes.find((c) => c.entityId === materialId)?.data).toMatchObject({
			jobId,
			name: 'Nails',
			quantity: 3
		});

		const seen = await pullAll(worker);
		const workerJob = seen.changes.find((c) => c.entityId === jobId);
		expect(workerJob?.data).not.toHaveProperty('price');
		expect(seen.changes.map((c) => c.entityId).sort()).toEqual(
			expect.arrayContaining([customerId, jobId, materialId].sort())
		);
	});

	it('is idempotent by operation id, and an unchanged update does not bump the version', async () => {
		const id = uuid();
		const create = op({ type: 'create', entity: 'customer', entityId: id, data: { name: 'Once' } });
		const first = await pushOps(owner, [create]);
		const again = await pushOps(owner, [create]);
		expect(first.processed[0]?.status).toBe('applied');
		expect(again.processed[0]).toMatchObject({ status: 'duplicate', version: 1, entityId: id });
		const same = await pushOps(owner, [
			op({ type: 'update', entity: 'customer', entityId: id, version: 1, data: { name: 'Once' } })
		]);
		expect(same.processed[0]).toMatchObject({ status: 'applied', version: 1 });
	});

	it('rejects one bad operation without sinking the others', async () => {
		const good = uuid();
		const result = await pushOps(worker, [
			op({ type: 'create', entity: 'customer', entityId: uuid(), data: { name: 'Nope' } }),
			{ type: 'update', entity: 'job', timestamp: 1 },
			op({ type: 'update', entity: 'material', entityId: uuid(), data: { quantity: 1 } }),
			op({ type: 'create', entity: 'unicorn' as never, entityId: uuid() }),
			op({ type: 'create', entity: 'material', entityId: good, data: { name: 'x' }, userId: uuid() })
		]);
		expect(result.processed.map((p) => [p.status, p.error?.code, p.error?.field])).toEqual([
			['rejected', 'forbidden', undefined],
			['rejected', 'missing_field', 'id'],
			['rejected', 'not_found', 'entityId'],
			['rejected', 'invalid_operation', 'entity'],
			['rejected', 'wrong_user', 'userId']
		]);
	});

	it('answers a malformed envelope with 400 and no token with 401', async () => {
		expect((await server.call(owner, 'POST', '/api/sync/push', '{nope')).status).toBe(400);
		const noArray = await server.call(owner, 'POST', '/api/sync/push', { operations: 1, deviceId: 'd' });
		expect(noArray.status).toBe(400);
		expect(noArray.body.error.field).toBe('operations');
		const noDevice = await server.call(owner, 'POST', '/api/sync/push', { operations: [] });
		expect(noDevice.body.error.field).toBe('deviceId');
		expect((await server.call('bad', 'GET', '/api/sync/pull')).status).toBe(401);
	});

	it('a stale un-tick loses to the tick; an un-tick at the current version works', async () => {
		const jobId = uuid();
		const id = uuid();
		await pushOps(owner, [
			op({ type: 'create', entity: 'job', entityId: jobId, data: { title: 'T', assignedTo: [workerId] } })
		]);
		const created = await pushOps(worker, [
			op({ type: 'create', entity: 'material', entityId: id, data: { jobId, name: 'Tile' } })
		]);
		const update = async (token: string, version: number, data: Record<string, unknown>) =>
			(await pushOps(token, [op({ type: 'update', entity: 'material', entityId: id, version, data })]))
				.processed[0];
		const v2 = (await update(owner, created.processed[0]?.version as number, { purchased: true }))
			?.version as number;
		// The worker has seen v2 (ticked). Meanwhile the owner un-ticks and ticks again.
		const v3 = (await update(owner, v2, { purchased: false }))?.version as number;
		const v4 = (await update(owner, v3, { purchased: true }))?.version as number;
		expect(v4).toBe(v2 + 2);
		const stale = await update(worker, v2, { purchased: false, quantity: 5 });
		expect(stale).toMatchObject({ status: 'merged' });
		const { changes } = await pullAll(owner, undefined, 'entities=material');
		expect(changes.find((c) => c.entityId === id)?.data).toMatchObject({ purchased: true, quantity: 5 });
		const current = await update(worker, stale?.version as number, { purchased: false });
		expect(current).toMatchObject({ status: 'applied' });
	});
});
