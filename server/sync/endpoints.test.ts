import { get, type IncomingHttpHeaders } from 'node:http';
import { brotliCompressSync, brotliDecompressSync, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../wire/canonical.ts';
import { boardEventAudience } from '../projection/board-routes.ts';
import { waitFor } from '../testing/app.ts';
import {
	BoardResponseSchema,
	ChecksumsResponseSchema,
	CustomersResponseSchema,
	DevicesResponseSchema,
	HealthResponseSchema,
	HealthSeriesSchema,
	PullResponseSchema,
	PushResponseSchema,
	StatusResponseSchema,
	UsersResponseSchema
} from './schemas.ts';
import { op, type SyncTestServer, startSyncServer, uuid } from './test-support.ts';

describe('sync endpoints (pg)', () => {
	let server: SyncTestServer;
	let owner: string;
	let worker: string;
	let workerId: string;
	let other: string;
	const customerId = uuid();
	const jobId = uuid();
	const hiddenJob = uuid();

	const push = async (token: string, operations: unknown[], deviceId = 'dev') => {
		const res = await server.call(token, 'POST', '/api/sync/push', { operations, deviceId });
		expect(res.status, JSON.stringify(res.body)).toBe(200);
		return PushResponseSchema.parse(res.body);
	};
	const pull = async (token: string, query = '') =>
		PullResponseSchema.parse((await server.call(token, 'GET', `/api/sync/pull?${query}`)).body);

	beforeAll(async () => {
		server = await startSyncServer('pg');
		await server.addUser('owner@x.test', 'OWNER');
		workerId = (await server.addUser('worker@x.test', 'WORKER')).id;
		await server.addUser('other@x.test', 'WORKER');
		owner = await server.login('owner@x.test');
		worker = await server.login('worker@x.test');
		other = await server.login('other@x.test');
		await push(owner, [
			op({
				type: 'create',
				entity: 'customer',
				entityId: customerId,
				data: { name: 'Visible Co', phone: '1' }
			}),
			op({ type: 'create', entity: 'customer', entityId: uuid(), data: { name: 'Hidden Co' } }),
			op({
				type: 'create',
				entity: 'job',
				entityId: jobId,
				data: { title: 'Mine', customerId, price: 900, scheduledStart: 5 }
			}),
			op({ type: 'create', entity: 'job', entityId: hiddenJob, data: { title: 'Not mine', price: 1 } }),
			op({
				type: 'create',
				entity: 'material',
				entityId: uuid(),
				data: { jobId, name: 'A', purchased: true }
			}),
			op({ type: 'create', entity: 'material', entityId: uuid(), data: { jobId, name: 'B' } }),
			op({ type: 'create', entity: 'material', entityId: uuid(), data: { jobId: hiddenJob, name: 'C' } })
		]);
	});
	afterAll(() => server?.close());

	it('assigning a worker reveals the job, its materials and customer on their next pull; never price', async () => {
		const before = await pull(worker);
		expect(before.changes).toEqual([]);
		await push(owner, [
			op({ type: 'update', entity: 'job', entityId: jobId, data: { assignedTo: [workerId] } })
		]);
		const after = await pull(worker, `lastSyncToken=${encodeURIComponent(before.syncToken)}`);
		const names = after.changes.map((c) => String(c.data.name ?? c.data.title)).sort();
		expect(names).toEqual(['A', 'B', 'Mine', 'Visible Co']);
		expect(after.changes.find((c) => c.entity === 'job')?.data).not.toHaveProperty('price');
		expect((await pull(other)).changes).toEqual([]);
	});

	it('checksums equal sha256 of the canonical JSON of each entity as pulled', async () => {
		for (const token of [owner, worker]) {
			const pulled = await pull(token, 'entities=job,material,customer&limit=5000');
			for (const entity of ['customer', 'job', 'material'] as const) {
				const res = await server.call(token, 'GET', `/api/sync/checksums/${entity}`);
				const { checksums } = ChecksumsResponseSchema.parse(res.body);
				const expected: Record<string, string> = {};
				for (const c of pulled.changes.filter((c) => c.entity === entity))
					expected[c.entityId] = await sha256Hex(canonicalJson(c.data));
				expect(checksums).toEqual(expected);
			}
		}
		expect((await server.call(owner, 'GET', '/api/sync/checksums/unicorns')).status).toBe(404);
	});

	it('a delete is pulled as a deletion with the last state; restore is update {deleted:false}', async () => {
		const id = uuid();
		const created = await push(owner, [
			op({ type: 'create', entity: 'material', entityId: id, data: { jobId, name: 'gone' } })
		]);
		const from = (await pull(owner, 'limit=5000')).syncToken;
		await push(owner, [
			op({
				type: 'delete',
				entity: 'material',
				entityId: id,
				version: created.processed[0]?.version as number
			})
		]);
		const deleted = await pull(owner, `lastSyncToken=${encodeURIComponent(from)}`);
		expect(deleted.deletions).toEqual([
			expect.objectContaining({
				entity: 'material',
				entityId: id,
				data: expect.objectContaining({ name: 'gone', deleted: true })
			})
		]);
		await push(owner, [op({ type: 'update', entity: 'material', entityId: id, data: { deleted: false } })]);
		const restored = await pull(owner, `lastSyncToken=${encodeURIComponent(deleted.syncToken)}`);
		expect(restored.changes[0]).toMatchObject({
			entityId: id,
			operation: 'update',
			data: { deleted: false, name: 'gone' }
		});
	});

	it('status, health (owner only), series and devices report recorded syncs', async () => {
		await pull(worker, 'deviceId=phone-1');
		const status = StatusResponseSchema.parse(
			(await server.call(worker, 'GET', '/api/sync/status?deviceId=phone-1')).body
		);
		expect(status.lastSync?.deviceId).toBe('phone-1');
		expect(Math.abs(status.serverTime - Date.now())).toBeLessThan(5_000);
		const health = HealthResponseSchema.parse((await server.call(owner, 'GET', '/api/sync/health')).body);
		expect(health.successRate).toBeGreaterThan(0);
		expect(health.dataVolume).toBeGreaterThan(0);
		expect((await server.call(worker, 'GET', '/api/sync/health')).status).toBe(403);
		expect(
			HealthSeriesSchema.parse((await server.call(owner, 'GET', '/api/sync/health/series')).body).length
		).toBeGreaterThan(0);
		const devices = DevicesResponseSchema.parse((await server.call(owner, 'GET', '/api/sync/devices')).body);
		expect(devices.map((d) => d.deviceId)).toEqual(expect.arrayContaining(['phone-1', 'dev']));
	});

	it('board, users and customers for the app; a worker sees only their jobs', async () => {
		const board = BoardResponseSchema.parse((await server.call(worker, 'GET', '/api/board')).body);
		expect(board.jobs).toEqual([
			expect.objectContaining({
				id: jobId,
				title: 'Mine',
				customer: { id: customerId, name: 'Visible Co' },
				assignedTo: [{ id: workerId, name: 'worker' }],
				materials: { purchased: 1, total: 3 },
				scheduledStart: 5
			})
		]);
		expect(JSON.stringify(board)).not.toContain('price');
		expect(BoardResponseSchema.parse((await server.call(owner, 'GET', '/api/board')).body).jobs).toHaveLength(
			2
		);
		expect(UsersResponseSchema.parse((await server.call(worker, 'GET', '/api/users')).body)).toHaveLength(3);
		const customers = CustomersResponseSchema.parse(
			(await server.call(worker, 'GET', '/api/customers')).body
		);
		expect(customers).toEqual([expect.objectContaining({ id: customerId, name: 'Visible Co', phone: '1' })]);
	});

	it('board events: `event: change` after a change, within a second', async () => {
		const controller = new AbortController();
		const res = await fetch(`${server.http}/api/board/events?token=${encodeURIComponent(owner)}`, {
			signal: controller.signal
		});
		expect(res.headers.get('content-type')).toContain('text/event-stream');
		const reader = (res.body as ReadableStream<Uint8Array>).getReader();
		const started = performance.now();
		const gotChange = waitFor(
			'event: change',
			(done) => {
				let text = '';
				const read = (): void => {
					reader.read().then(
						({ value, done: ended }) => {
							text += new TextDecoder().decode(value ?? new Uint8Array());
							if (text.includes('event: change')) return done();
							if (!ended) read();
						},
						() => {}
					);
				};
				read();
			},
			1_000
		);
		await push(owner, [
			op({ type: 'update', entity: 'job', entityId: jobId, data: { status: 'scheduled' } })
		]);
		await gotChange;
		expect(performance.now() - started).toBeLessThan(1_000);
		controller.abort();
		expect((await fetch(`${server.http}/api/board/events?token=nope`)).status).toBe(401);
	});

	it("VIS-4 a worker's board stream carries no event for what they cannot see (other jobs, price)", async () => {
		const controller = new AbortController();
		const res = await fetch(`${server.http}/api/board/events?token=${encodeURIComponent(worker)}`, {
			signal: controller.signal
		});
		const reader = (res.body as ReadableStream<Uint8Array>).getReader();
		let text = '';
		const events = () => text.split('event: change').length - 1;
		const eventCount = (count: number) =>
			waitFor(`${count} board events`, (done) => {
				const read = (): void => {
					if (events() >= count) {
						done();
						return;
					}
					reader.read().then(
						({ value, done: ended }) => {
							text += new TextDecoder().decode(value ?? new Uint8Array());
							if (events() >= count) done();
							else if (!ended) read();
						},
						() => {}
					);
				};
				read();
			});
		await push(owner, [
			op({ type: 'update', entity: 'job', entityId: hiddenJob, data: { title: 'Secret move' } })
		]);
		await push(owner, [op({ type: 'update', entity: 'job', entityId: jobId, data: { price: 4321 } })]);
		await push(owner, [
			op({ type: 'update', entity: 'job', entityId: jobId, data: { status: 'in_progress' } })
		]);
		await eventCount(1);
		await push(owner, [
			op({ type: 'update', entity: 'job', entityId: jobId, data: { status: 'scheduled' } })
		]);
		await eventCount(2);
		controller.abort();
		// Which documents concern the worker, asked the way the stream asks before every event.
		const concerns = boardEventAudience(server.db, { id: workerId, name: 'worker', role: 'WORKER' });
		expect(await concerns(`job:${jobId}`)).toBe(true);
		expect(await concerns(`materials:${jobId}`)).toBe(true);
		expect(await concerns(`customer:${customerId}`)).toBe(true);
		expect(await concerns(`job:${hiddenJob}`)).toBe(false);
		expect(await concerns(`materials:${hiddenJob}`)).toBe(false);
		expect(await concerns(`job-owner:${jobId}`)).toBe(false);
		expect(await concerns(`customer:${uuid()}`)).toBe(false);
	});

	it('compresses responses (br, gzip; gzip at its fastest level) and accepts compressed request bodies', async () => {
		const plain = await fetch(`${server.http}/api/sync/pull?limit=5000`, {
			headers: { authorization: `Bearer ${owner}`, 'accept-encoding': 'identity' }
		});
		expect(plain.headers.get('content-encoding')).toBeNull();
		const page = PullResponseSchema.parse(await plain.json());
		expect(page.changes.length).toBeGreaterThan(0);
		// Raw requests: fetch would decode the body and hide what came over the wire.
		for (const encoding of ['br', 'gzip'] as const) {
			const wire = await rawBody(`${server.http}/api/sync/pull?limit=5000`, {
				authorization: `Bearer ${owner}`,
				'accept-encoding': encoding
			});
			expect(wire.headers['content-encoding']).toBe(encoding);
			const decoded = (encoding === 'br' ? brotliDecompressSync : gunzipSync)(wire.body).toString();
			expect(JSON.parse(decoded)).toEqual(page);
			// The gzip header's XFL byte is 4 only for zlib's fastest level (httpDefaults.gzipLevel).
			if (encoding === 'gzip') expect(wire.body[8]).toBe(4);
		}
		const body = Buffer.from(
			JSON.stringify({
				operations: [op({ type: 'create', entity: 'customer', entityId: uuid(), data: { name: 'br' } })],
				deviceId: 'd'
			})
		);
		const res = await fetch(`${server.http}/api/sync/push`, {
			method: 'POST',
			headers: {
				authorization: `Bearer ${owner}`,
				'content-type': 'application/json',
				'content-encoding': 'br'
			},
			body: brotliCompressSync(body)
		});
		expect(res.status).toBe(200);
		expect(PushResponseSchema.parse(await res.json()).processed[0]?.status).toBe('applied');
	});

	it('rejects bodies over 5 MB with 413', async () => {
		const big = JSON.stringify({ operations: [], deviceId: 'd', pad: 'x'.repeat(5 * 1024 * 1024) });
		expect((await server.call(owner, 'POST', '/api/sync/push', big)).status).toBe(413);
	});

	it('serves an OpenAPI document naming every endpoint', async () => {
		const res = await server.call(owner, 'GET', '/api/openapi.json');
		expect(res.status).toBe(200);
		expect(Object.keys(res.body.paths)).toEqual(
			expect.arrayContaining([
				'/api/sync/push',
				'/api/sync/pull',
				'/api/sync/status',
				'/api/sync/checksums/{entity}',
				'/api/sync/health',
				'/api/board'
			])
		);
		expect(res.body.paths['/api/sync/push'].post.requestBody.content['application/json'].schema).toEqual({
			$ref: '#/components/schemas/PushRequest'
		});
		const schemas = res.body.components.schemas;
		expect(schemas.PushRequest.properties.operations.items).toEqual({
			$ref: '#/components/schemas/SyncOperation'
		});
		expect(schemas.SyncConflict.properties.resolution.enum).toContain('pending_user');
	});

	it('fuzz: any JSON body or query gets a JSON answer below 500, and push answers one status per operation', async () => {
		const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
		console.log(`endpoint fuzz seed: ${seed} (FC_SEED=${seed} to replay)`);
		const anyOp = fc.record(
			{
				id: fc.oneof(fc.string(), fc.uuid(), fc.constant(undefined)),
				timestamp: fc.oneof(fc.integer(), fc.double(), fc.string()),
				type: fc.constantFrom('create', 'update', 'delete', 'x'),
				entity: fc.constantFrom('customer', 'job', 'material', 'users'),
				entityId: fc.oneof(fc.uuid(), fc.constant(jobId), fc.string()),
				data: fc.oneof(
					fc.dictionary(
						fc.constantFrom(
							'name',
							'title',
							'quantity',
							'price',
							'jobId',
							'notes',
							'assignedTo',
							'status',
							'x'
						),
						fc.jsonValue()
					),
					fc.jsonValue()
				),
				version: fc.oneof(fc.nat(5), fc.integer(), fc.string())
			},
			{ requiredKeys: [] }
		);
		await fc.assert(
			fc.asyncProperty(
				fc.oneof(
					fc.record({ operations: fc.array(anyOp, { maxLength: 5 }), deviceId: fc.string({ minLength: 1 }) }),
					fc.jsonValue()
				),
				fc.constantFrom(owner, worker),
				fc.dictionary(fc.constantFrom('lastSyncToken', 'limit', 'entities', 'deviceId'), fc.string()),
				async (body, token, query) => {
					const res = await server.call(token, 'POST', '/api/sync/push', body);
					expect(res.status).toBeLessThan(500);
					expect(typeof res.body).toBe('object');
					if (res.status === 200)
						expect(PushResponseSchema.parse(res.body).processed).toHaveLength(
							(body as { operations: unknown[] }).operations.length
						);
					else expect(res.body.error.code).toEqual(expect.any(String));
					const pulled = await server.call(token, 'GET', `/api/sync/pull?${new URLSearchParams(query)}`);
					expect([200, 400]).toContain(pulled.status);
					if (pulled.status === 200) PullResponseSchema.parse(pulled.body);
				}
			),
			{ seed, numRuns: 60 }
		);
	});
});

/** A GET's status, headers and body bytes exactly as they came over the wire (no decoding). */
function rawBody(
	url: string,
	headers: Record<string, string>
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
	return new Promise((resolve, reject) => {
		get(url, { headers }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (chunk: Buffer) => chunks.push(chunk));
			res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
			res.on('error', reject);
		}).on('error', reject);
	});
}
