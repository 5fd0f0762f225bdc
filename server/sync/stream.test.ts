import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom, testSeed } from '../../tests/support/random.ts';
import type { EntityChange, EntityDeletion } from './change-feed.ts';
import { runRetention } from './retention.ts';
import { op, type SyncTestServer, startSyncServer, uuid } from './test-support.ts';

interface SseEvent {
	event: string;
	id: string | undefined;
	data: unknown;
}

/** A raw SSE client over fetch: what an integrator's EventSource does, without the browser. */
class RawStream {
	readonly events: SseEvent[] = [];
	lastId: string | undefined;
	private readonly listeners = new Set<() => void>();
	private readonly abort = new AbortController();
	ended = false;

	static async open(
		url: string,
		headers: Record<string, string>
	): Promise<{ status: number; stream: RawStream; body: string }> {
		const stream = new RawStream();
		const res = await fetch(url, { headers, signal: stream.abort.signal });
		if (res.status !== 200) return { status: res.status, stream, body: await res.text() };
		void stream.read(res.body as ReadableStream<Uint8Array>);
		return { status: 200, stream, body: '' };
	}

	private async read(body: ReadableStream<Uint8Array>) {
		const decoder = new TextDecoder();
		let buffer = '';
		try {
			for await (const chunk of body) {
				buffer += decoder.decode(chunk, { stream: true });
				for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
					const block = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					const fields: Record<string, string> = {};
					for (const line of block.split('\n')) {
						if (line.startsWith(':')) continue;
						const colon = line.indexOf(':');
						if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
					}
					if (!fields.event) continue;
					if (fields.id) this.lastId = fields.id;
					this.events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? 'null') });
					for (const l of this.listeners) l();
				}
			}
		} catch {
			// aborted by close()
		}
		this.ended = true;
		for (const l of this.listeners) l();
	}

	/** Resolves once `condition()` holds, re-checked at every event; rejects after `ms`. */
	until(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
		if (condition()) return Promise.resolve();
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.listeners.delete(check);
				reject(new Error(`timed out waiting for ${what}`));
			}, ms);
			const check = () => {
				if (!condition()) return;
				clearTimeout(timer);
				this.listeners.delete(check);
				resolve();
			};
			this.listeners.add(check);
		});
	}

	close() {
		this.abort.abort();
	}
}

/** A subscriber that survives reconnects: its state and every (entity, version) it received. */
class Subscriber {
	state = new Map<string, Record<string, unknown>>();
	received: string[] = [];
	entities: Array<EntityChange | EntityDeletion> = [];
	stream: RawStream | undefined;
	private consumed = 0;
	lastId: string | undefined;
	constructor(
		private readonly server: SyncTestServer,
		private readonly token: string,
		private readonly viaQuery: boolean
	) {}

	async connect() {
		const headers: Record<string, string> = this.viaQuery ? {} : { authorization: `Bearer ${this.token}` };
		if (this.lastId) headers['last-event-id'] = this.lastId;
		const url = `${this.server.http}/api/sync/stream${this.viaQuery ? `?token=${encodeURIComponent(this.token)}` : ''}`;
		const { status, stream } = await RawStream.open(url, headers);
		expect(status).toBe(200);
		this.stream = stream;
		this.consumed = 0;
		await stream.until('synced', () => stream.events.some((e) => e.event === 'synced'));
		this.drain();
	}

	/** Applies events not yet applied. */
	drain() {
		const stream = this.stream;
		if (!stream) return;
		for (; this.consumed < stream.events.length; this.consumed++) {
			const e = stream.events[this.consumed] as SseEvent;
			if (e.id) this.lastId = e.id;
			if (e.event !== 'changes') continue;
			const page = e.data as { changes: EntityChange[]; deletions: EntityDeletion[] };
			for (const c of page.changes) {
				this.state.set(c.entityId, c.data);
				this.received.push(`${c.entityId}@${c.version}`);
				this.entities.push(c);
			}
			for (const d of page.deletions) {
				this.state.delete(d.entityId);
				this.received.push(`${d.entityId}@${d.version}`);
				this.entities.push(d);
			}
		}
	}

	disconnect() {
		this.drain();
		this.stream?.close();
		this.stream = undefined;
	}
}

describe.each(['pg', 'pglite'] as const)('live change stream (%s)', (kind) => {
	let server: SyncTestServer;
	let owner: string;
	let worker: string;
	let workerId: string;
	const jobId = uuid();
	const hiddenJob = uuid();
	const customerId = uuid();
	const materials: Array<{ id: string; jobId: string }> = [];

	const push = async (token: string, operations: unknown[]) => {
		const res = await server.call(token, 'POST', '/api/sync/push', { deviceId: 'stream-test', operations });
		expect(res.status).toBe(200);
		return res.body;
	};
	/** The caller's state by a full pull, as `id → data`. */
	const fullPull = async (token: string) => {
		const state = new Map<string, Record<string, unknown>>();
		let cursor: string | undefined;
		for (;;) {
			const q = new URLSearchParams({ limit: '5000' });
			if (cursor) q.set('lastSyncToken', cursor);
			const res = await server.call(token, 'GET', `/api/sync/pull?${q}`);
			for (const c of res.body.changes as EntityChange[]) state.set(c.entityId, c.data);
			for (const d of res.body.deletions as EntityDeletion[]) state.delete(d.entityId);
			cursor = res.body.syncToken;
			if (!res.body.hasMore) return { state, token: cursor as string };
		}
	};

	beforeAll(async () => {
		server = await startSyncServer(kind);
		await server.addUser('owner@x.test', 'OWNER');
		workerId = (await server.addUser('worker@x.test', 'WORKER')).id;
		owner = await server.login('owner@x.test');
		worker = await server.login('worker@x.test');
		await push(owner, [
			op({ type: 'create', entity: 'customer', entityId: customerId, data: { name: 'Seen Co' } }),
			op({
				type: 'create',
				entity: 'job',
				entityId: jobId,
				data: { title: 'Mine', customerId, price: 500, assignedTo: [workerId] }
			}),
			op({ type: 'create', entity: 'job', entityId: hiddenJob, data: { title: 'Not mine', price: 7 } })
		]);
	});
	afterAll(() => server?.close());

	it('STREAM-1…3: opened, disconnected and resumed at random points, every change arrives exactly once; a worker never gets what they cannot see', async () => {
		const seed = testSeed();
		console.log(`stream interleavings seed (${kind}): ${seed} (TEST_SEED=${seed} to replay)`);
		const random = seededRandom(seed);
		const subs = [new Subscriber(server, owner, false), new Subscriber(server, worker, true)] as const;
		for (const s of subs) await s.connect();
		for (let step = 0; step < 30; step++) {
			const r = random();
			if (r < 0.35) {
				const id = uuid();
				const target = random() < 0.5 ? jobId : hiddenJob;
				materials.push({ id, jobId: target });
				await push(owner, [
					op({ type: 'create', entity: 'material', entityId: id, data: { jobId: target, name: `m${step}` } })
				]);
			} else if (r < 0.7 && materials.length > 0) {
				const m = materials[Math.floor(random() * materials.length)] as { id: string };
				await push(owner, [
					op({ type: 'update', entity: 'material', entityId: m.id, data: { quantity: step + 1 } })
				]);
			} else if (r < 0.8) {
				await push(owner, [
					op({ type: 'update', entity: 'job', entityId: jobId, data: { price: step * 10 } })
				]);
			} else {
				const s = subs[random() < 0.5 ? 0 : 1];
				if (s.stream) s.disconnect();
				else await s.connect();
			}
		}
		for (const s of subs) if (!s.stream) await s.connect();
		for (const [s, token] of [
			[subs[0], owner],
			[subs[1], worker]
		] as const) {
			const expected = (await fullPull(token)).state;
			const stream = s.stream as RawStream;
			await stream.until('the stream to reach the server state', () => {
				s.drain();
				return JSON.stringify([...s.state].sort()) === JSON.stringify([...expected].sort());
			});
			// Exactly once: no (entity, version) twice across all of this subscriber's connections.
			expect(new Set(s.received).size).toBe(s.received.length);
		}
		// STREAM-2: the worker sees their job, its materials and customer, never price, nothing else.
		const visible = new Set([
			jobId,
			customerId,
			...materials.filter((m) => m.jobId === jobId).map((m) => m.id)
		]);
		for (const e of subs[1].entities) {
			expect(visible.has(e.entityId)).toBe(true);
			expect(e.data).not.toHaveProperty('price');
		}
		for (const s of subs) s.disconnect();
	});

	it('STREAM-4: a token behind the retention horizon answers 410 resync_required; Last-Event-ID wins over lastSyncToken', async () => {
		const { token: before } = await fullPull(owner);
		const m = materials[0] ?? { id: uuid() };
		for (const quantity of [101, 102]) {
			await push(owner, [op({ type: 'update', entity: 'material', entityId: m.id, data: { quantity } })]);
		}
		await server.db.query(`UPDATE change_log SET changed_at = now() - interval '40 days'`);
		expect((await runRetention(server.db, { changeLogRetentionDays: 30 })).changeLogDeleted).toBeGreaterThan(
			0
		);
		const url = `${server.http}/api/sync/stream?lastSyncToken=${encodeURIComponent(before)}`;
		const gone = await RawStream.open(url, { authorization: `Bearer ${owner}` });
		expect(gone.status).toBe(410);
		expect(JSON.parse(gone.body)).toMatchObject({ error: { code: 'resync_required' } });
		// Resuming with a current Last-Event-ID ignores the stale query token.
		const { token: now } = await fullPull(owner);
		const resumed = await RawStream.open(url, { authorization: `Bearer ${owner}`, 'last-event-id': now });
		expect(resumed.status).toBe(200);
		await resumed.stream.until('synced', () => resumed.stream.events.some((e) => e.event === 'synced'));
		expect(resumed.stream.events.filter((e) => e.event === 'changes')).toEqual([]);
		resumed.stream.close();
		const anonymous = await RawStream.open(`${server.http}/api/sync/stream`, {});
		expect(anonymous.status).toBe(401);
	});
});
