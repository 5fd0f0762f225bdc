import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../wire/canonical.ts';
import { runRetention } from '../sync/retention.ts';
import { type SyncTestServer, startSyncServer, uuid } from '../sync/test-support.ts';
import { backoffDelayMs } from './backoff.ts';
import { FileStorage } from './file-storage.ts';
import { IndexedDbStorage, MemoryStorage, type QueuedOperation } from './storage.ts';
import { MemoryEntityStore, type ResyncEvent, SyncClient } from './sync-client.ts';

describe('backoff', () => {
	it('is 1 s, 2 s, 4 s… capped at 30 s', () => {
		expect([1, 2, 3, 4, 5, 6, 7, 10].map((n) => backoffDelayMs(n))).toEqual([
			1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000
		]);
	});
});

describe('client storage', () => {
	it('IndexedDB and file stores keep the queue across instances', async () => {
		const dir = await mkdtemp(join(tmpdir(), 'khs-client-'));
		try {
			for (const make of [() => new IndexedDbStorage('t1'), () => new FileStorage(join(dir, 'q.json'))]) {
				const state = { queue: [{ id: 'a' } as QueuedOperation], syncToken: 'v1.x' };
				await make().save(state);
				expect(await make().load()).toEqual(state);
			}
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
});

describe.each(['pg', 'pglite'] as const)('SyncClient against a running server (%s)', (kind) => {
	let server: SyncTestServer;
	let token: string;
	let dir: string;
	const jobId = uuid();
	beforeAll(async () => {
		server = await startSyncServer(kind);
		await server.addUser('o@x.test', 'OWNER');
		token = await server.login('o@x.test');
		dir = await mkdtemp(join(tmpdir(), 'khs-client-'));
	});
	afterAll(async () => {
		await server?.close();
		await rm(dir, { recursive: true, force: true });
	});

	const client = (over: Partial<ConstructorParameters<typeof SyncClient>[0]> = {}) =>
		new SyncClient({
			baseUrl: server.http,
			token: () => token,
			deviceId: 'node-1',
			storage: new MemoryStorage(),
			local: new MemoryEntityStore(),
			...over
		});

	it('queues offline, backs off 1 s, 2 s, 4 s…, fails after the limit and reports, never drops', async () => {
		let now = 1_000_000;
		const failed: QueuedOperation[] = [];
		const offline = client({
			fetch: async () => {
				throw new TypeError('network down');
			},
			now: () => now,
			retryLimit: 3,
			onFailed: (q) => failed.push(q)
		});
		await offline.enqueue({
			id: 'q1',
			timestamp: now,
			type: 'create',
			entity: 'customer',
			entityId: uuid(),
			data: { name: 'x' }
		});
		const waits: number[] = [];
		for (let i = 0; i < 4; i++) {
			await offline.push();
			const next = await offline.nextRetryAt();
			if (next !== undefined) {
				waits.push(next - now);
				now = next;
			}
		}
		expect(waits).toEqual([1000, 2000, 4000]);
		expect(failed.map((q) => [q.id, q.status, q.retryCount])).toEqual([['q1', 'failed', 4]]);
		expect((await offline.queue()).map((q) => q.status)).toEqual(['failed']);
	});

	it('persists the queue in a file across restarts, optimizes, pushes, then pages pull until hasMore is false', async () => {
		const path = join(dir, `${kind}.json`);
		const first = client({ storage: new FileStorage(path) });
		await first.enqueue({
			id: uuid(),
			timestamp: Date.now(),
			type: 'create',
			entity: 'job',
			entityId: jobId,
			data: { title: 'Queued' }
		});
		await first.enqueue({
			id: uuid(),
			timestamp: Date.now(),
			type: 'update',
			entity: 'job',
			entityId: jobId,
			data: { status: 'scheduled' }
		});
		for (let i = 0; i < 30; i++) {
			await first.enqueue({
				id: uuid(),
				timestamp: Date.now(),
				type: 'create',
				entity: 'material',
				entityId: uuid(),
				data: { jobId, name: `m${i}` }
			});
		}
		// "Restart": a new client over the same file.
		const local = new MemoryEntityStore();
		const second = client({ storage: new FileStorage(path), local });
		expect(await second.queue()).toHaveLength(32);
		const pushed = await second.push();
		expect(pushed.sent).toBe(31); // create + update of the job merged into one
		expect(pushed.processed.every((p) => p.status === 'applied')).toBe(true);
		expect(await second.queue()).toEqual([]);
		const pages: boolean[] = [];
		const realFetch = fetch;
		const paging = client({
			storage: new FileStorage(path),
			local,
			fetch: async (input, init) => {
				const url = String(input).replace('limit=1000', 'limit=7');
				const res = await realFetch(url, init);
				if (url.includes('/pull')) pages.push(((await res.clone().json()) as { hasMore: boolean }).hasMore);
				return res;
			}
		});
		await paging.pull();
		expect(pages.length).toBeGreaterThan(4);
		expect(pages.at(-1)).toBe(false);
		expect(local.maps.material.size).toBe(30);
		expect(local.maps.job.get(jobId)).toMatchObject({ title: 'Queued', status: 'scheduled' });
	});

	it('differential sync repairs a diverged local copy by checksums', async () => {
		const local = new MemoryEntityStore();
		const c = client({ local });
		await c.pull();
		const ids = [...local.maps.material.keys()];
		local.maps.material.delete(ids[0] as string);
		local.maps.material.set(ids[1] as string, {
			...local.maps.material.get(ids[1] as string),
			name: 'tampered'
		});
		const extraId = uuid();
		local.maps.material.set(extraId, {
			id: extraId,
			jobId,
			name: 'only here',
			quantity: 1,
			unit: '',
			purchased: false,
			notes: '',
			createdAt: 1,
			deleted: false
		});
		const result = await c.differentialSync('material');
		expect(result).toEqual({ pulled: 1, pushed: 1, updated: 1 });
		await c.pull();
		const res = await server.call(token, 'GET', '/api/sync/checksums/material');
		const mine: Record<string, string> = {};
		for (const [id, data] of local.maps.material) mine[id] = await sha256Hex(canonicalJson(data));
		expect(mine).toEqual(res.body.checksums);
	});

	it('FEED-4: behind the retention horizon it resyncs by itself to exactly the server state, keeps its queue, and reports it', async () => {
		const local = new MemoryEntityStore();
		const events: ResyncEvent[] = [];
		const c = client({ local, onResync: (e) => events.push(e) });
		await c.pull();
		// A stale local entity the server no longer has: a full resync must not keep it.
		const ghost = uuid();
		local.maps.material.set(ghost, { id: ghost, jobId, name: 'ghost', version: 1 });
		const other = client({ deviceId: 'node-2' });
		const materialId = uuid();
		for (const [type, data] of [
			['create', { jobId, name: 'rev', quantity: 1 }],
			['update', { quantity: 2 }],
			['update', { quantity: 3 }]
		] as const) {
			await other.enqueue({
				id: uuid(),
				timestamp: Date.now(),
				type,
				entity: 'material',
				entityId: materialId,
				data
			});
			expect((await other.push()).failed).toBe(0);
		}
		await c.enqueue({
			id: uuid(),
			timestamp: Date.now(),
			type: 'update',
			entity: 'job',
			entityId: jobId,
			data: { title: 'queued while behind' }
		});
		await server.db.query(`UPDATE change_log SET changed_at = now() - interval '40 days'`);
		expect((await runRetention(server.db, { changeLogRetentionDays: 30 })).changeLogDeleted).toBeGreaterThan(
			0
		);

		await c.pull();
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({ count: 1 });
		expect(c.resyncCount).toBe(1);
		expect((await c.queue()).map((q) => q.data)).toEqual([{ title: 'queued while behind' }]);
		for (const entity of ['customer', 'job', 'material'] as const) {
			const res = await server.call(token, 'GET', `/api/sync/checksums/${entity}`);
			const mine: Record<string, string> = {};
			for (const [id, data] of local.maps[entity]) mine[id] = await sha256Hex(canonicalJson(data));
			expect(mine).toEqual(res.body.checksums);
		}
		// Inside the horizon again: the next pull is incremental.
		await c.pull();
		expect(c.resyncCount).toBe(1);
	});
});
