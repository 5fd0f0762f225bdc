import { HocuspocusProvider } from '@hocuspocus/provider';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as RawWebSocket } from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { HybridClock, JobDoc, MaterialListDoc, type Role, type WriteContext } from '../../crdt/index.ts';
import { type AssembledServer, assembleServer } from '../../server/assemble.ts';
import { accessRevokedReason } from '../../server/collab/revoke.ts';
import type { Db } from '../../server/db/port.ts';
import { createDocStore } from '../../server/docs/store.ts';
import { silentLogger } from '../../server/logger.ts';
import { openMigratedTestDb, serveTestApp, type TestServer } from '../../server/testing/app.ts';
import { probeWrites } from '../../server/testing/db-probe.ts';
import { seededRandom, testSeed } from '../support/random.ts';
import { waitFor, waitUntil } from '../support/wait.ts';
import {
	killIfRunning,
	login,
	openTestDatabase,
	type ServerProcess,
	startServerProcess,
	type TestDatabase
} from './support/server-process.ts';
import { materialNames } from './support/writers.ts';
import { until, YClient, yjsUrl } from './support/y-websocket-client.ts';

/**
 * The standard y-websocket provider (npm `y-websocket`, unmodified) on `/yjs/<name>` beside
 * Hocuspocus providers on `/collab`, against the production assembly on real Postgres
 * (docs/y-websocket.md, rules DIAL-1…11).
 */
describe('y-websocket dialect', () => {
	let server: AssembledServer;
	let test: TestServer;
	let db: Db;
	/** The same database without the probe: reads inside checks must not trigger more checks. */
	let rawDb: Db;
	let yjs: string;
	const ids = { owner: '', ana: '' };
	const tokens = { owner: '', ana: '' };
	const open: Array<{ destroy(): void }> = [];
	/** Re-checks of waiting conditions, run after every committed write of the server. */
	const checks = new Set<() => void>();

	beforeAll(async () => {
		const opened = await openMigratedTestDb('pg');
		rawDb = opened.db;
		db = probeWrites(opened.db, () => {
			for (const check of checks) check();
		});
		server = await assembleServer({
			db,
			logger: silentLogger(),
			authSecret: 'y-websocket-secret-y-websocket-secret'
		});
		test = await serveTestApp(server.app, opened.db, async () => {
			await server.close();
			await opened.drop();
		});
		yjs = yjsUrl(test.ws);
		ids.owner = (await test.addUser('owner@yws.test', 'OWNER')).id;
		ids.ana = (await test.addUser('ana@yws.test', 'WORKER')).id;
		tokens.owner = await test.login('owner@yws.test');
		tokens.ana = await test.login('ana@yws.test');
	});

	afterAll(async () => {
		for (const client of open) client.destroy();
		await test?.close();
	});

	function ctx(who: 'owner' | 'ana', device: string): WriteContext {
		const role: Role = who === 'owner' ? 'OWNER' : 'WORKER';
		return { writer: { userId: ids[who], deviceId: device, role }, clock: new HybridClock() };
	}

	function yClient(name: string, token: string | undefined): YClient {
		const client = new YClient(yjs, name, token);
		open.push(client);
		return client;
	}

	function hClient(name: string, token: string): HocuspocusProvider {
		const provider = new HocuspocusProvider({ url: test.ws, name, token, document: new Y.Doc() });
		open.push(provider);
		return provider;
	}

	const hSynced = (provider: HocuspocusProvider) =>
		waitFor(`hocuspocus sync of ${provider.configuration.name}`, (done) => {
			if (provider.isSynced) return done();
			provider.on('synced', () => done());
		});

	const authFailure = (provider: HocuspocusProvider) =>
		waitFor<string>(`auth failure on ${provider.configuration.name}`, (done) =>
			provider.on('authenticationFailed', ({ reason }: { reason: string }) => done(reason))
		);

	/** Resolves once `check` holds, re-checking after every committed write. */
	function untilDb(what: string, check: () => Promise<boolean>): Promise<void> {
		return waitFor(what, (done) => {
			let settled = false;
			const attempt = () =>
				void check().then((ok) => {
					if (!ok || settled) return;
					settled = true;
					checks.delete(attempt);
					done();
				});
			checks.add(attempt);
			attempt();
		});
	}

	/** A job owned by `owner` with `crew`, projected (its crew is in `job_assignments`). */
	async function createJob(
		crew: string[],
		customerId = crypto.randomUUID()
	): Promise<{ jobId: string; owner: JobDoc }> {
		const jobId = crypto.randomUUID();
		const provider = hClient(`job:${jobId}`, tokens.owner);
		await hSynced(provider);
		const owner = new JobDoc(provider.document, jobId, ctx('owner', 'owner-hp'));
		owner.create({ title: 'Roof', status: 'scheduled', customerId });
		for (const id of crew) owner.entity.addMember(id);
		await untilDb(`crew of ${jobId}`, async () => {
			const { rows } = await rawDb.query('SELECT 1 FROM job_assignments WHERE job_id = $1', [jobId]);
			return rows.length === crew.length;
		});
		return { jobId, owner };
	}

	it('two y-websocket clients and a Hocuspocus client converge live; edits are stored and projected (DIAL-2, DIAL-5)', async () => {
		const jobId = crypto.randomUUID();
		const name = `materials:${jobId}`;
		const a = yClient(name, tokens.owner);
		const b = yClient(name, tokens.owner);
		const h = hClient(name, tokens.owner);
		await Promise.all([a.synced(), b.synced(), hSynced(h)]);
		const lists = {
			a: new MaterialListDoc(a.doc, jobId, ctx('owner', 'dev-a')),
			b: new MaterialListDoc(b.doc, jobId, ctx('owner', 'dev-b')),
			h: new MaterialListDoc(h.document, jobId, ctx('owner', 'dev-h'))
		};
		const docs = [a.doc, b.doc, h.document];
		const same = () => {
			const [first, ...rest] = [lists.a.list(), lists.b.list(), lists.h.list()];
			return rest.every((l) => JSON.stringify(l) === JSON.stringify(first));
		};

		const fromA = lists.a.add({ name: 'shingles', quantity: 10, unit: 'bundle' });
		const fromB = lists.b.add({ name: 'nails', quantity: 500, unit: 'pcs' });
		const fromH = lists.h.add({ name: 'flashing', quantity: 2, unit: 'roll' });
		await until(docs, () => same() && lists.a.ids().length === 3, 'all three materials everywhere');

		// Concurrent edits of one material from all three: quantity is a max register, purchased an OR.
		lists.a.require(fromH.id).set({ quantity: 5 });
		lists.b.require(fromH.id).set({ purchased: true });
		lists.h.require(fromH.id).set({ quantity: 7 });
		await until(
			docs,
			() => same() && lists.a.read(fromH.id)?.quantity === 7 && lists.a.read(fromH.id)?.purchased === true,
			'the merged material everywhere'
		);

		// The same persistence and projection as /collab: rows for every material, and the update log.
		const materialIds = [fromA.id, fromB.id, fromH.id].sort();
		await untilDb('three projected materials', async () => {
			const { rows } = await rawDb.query<{ id: string; quantity: number }>(
				"SELECT id::text AS id, (data->>'quantity')::int AS quantity FROM materials WHERE job_id = $1 ORDER BY id",
				[jobId]
			);
			return (
				rows.length === 3 &&
				rows.every((r, i) => r.id === materialIds[i]) &&
				rows.find((r) => r.id === fromH.id)?.quantity === 7
			);
		});
		await server.store.flush();
		expect([...materialNames(await server.store.load(name)).values()].sort()).toEqual([
			'flashing',
			'nails',
			'shingles'
		]);
	});

	it('awareness crosses dialects both ways (DIAL-10)', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		const y = yClient(name, tokens.owner);
		const h = hClient(name, tokens.owner);
		await Promise.all([y.synced(), hSynced(h)]);
		// `user` is always the authenticated one (PRES-1); the rest of a state is the client's own.
		const awarenessOf = (states: Map<number, Record<string, unknown>>, who: string) =>
			[...states.values()].some(
				(s) => s.cursor === who && (s.user as { id?: string } | undefined)?.id === ids.owner
			);
		const hAwareness = h.awareness;
		if (!hAwareness) throw new Error('the Hocuspocus provider has no awareness');

		const seenByH = waitFor('y-websocket presence at the Hocuspocus client', (done) => {
			const check = () => awarenessOf(hAwareness.getStates(), 'Yan') && done();
			hAwareness.on('change', check);
			check();
		});
		const seenByY = waitFor('Hocuspocus presence at the y-websocket client', (done) => {
			const check = () => awarenessOf(y.provider.awareness.getStates(), 'Hana') && done();
			y.provider.awareness.on('change', check);
			check();
		});
		y.provider.awareness.setLocalState({ cursor: 'Yan', user: { id: 'someone-else', name: 'Forged' } });
		hAwareness.setLocalState({ cursor: 'Hana' });
		await Promise.all([seenByH, seenByY]);

		// Closing the y-websocket socket removes its state for the others.
		const yClientId = y.doc.clientID;
		const gone = waitFor('the y-websocket presence to leave', (done) => {
			const check = () => !hAwareness.getStates().has(yClientId) && done();
			hAwareness.on('change', check);
		});
		y.destroy();
		await gone;
	});

	it("a worker's forbidden field write over y-websocket is undone; the allowed one stays (DIAL-2)", async () => {
		const customerId = crypto.randomUUID();
		const { jobId, owner } = await createJob([ids.ana], customerId);
		const ana = yClient(`job:${jobId}`, tokens.ana);
		await ana.synced();
		const anaJob = new JobDoc(ana.doc, jobId, ctx('ana', 'ana-yws'));
		await until([ana.doc], () => anaJob.read()?.customerId === customerId, 'the job to reach ana');

		// One transaction: customerId is owner-only (server/collab/write-rules.ts), status is not.
		anaJob.entity.set({ customerId: crypto.randomUUID(), status: 'in_progress' });
		await until(
			[owner.doc, ana.doc],
			() =>
				owner.read()?.status === 'in_progress' &&
				anaJob.read()?.status === 'in_progress' &&
				anaJob.read()?.customerId === customerId,
			'the status to reach the owner and the customer to be restored on ana'
		);
		expect(owner.read()?.customerId).toBe(customerId);
		expect(ana.closes).toEqual([]);
	});

	it('refusals are the same on both dialects: forbidden → 4403, bad or missing token → 4401, and no reconnect (DIAL-3, DIAL-6)', async () => {
		const { jobId } = await createJob([]);
		const cases: Array<{ name: string; token: string | undefined; code: number }> = [
			{ name: `job:${jobId}`, token: tokens.ana, code: 4403 },
			{ name: `materials:${jobId}`, token: tokens.ana, code: 4403 },
			{ name: 'not-a-document', token: tokens.owner, code: 4403 },
			{ name: `job:${jobId}`, token: 'not-a-token', code: 4401 },
			{ name: `job:${jobId}`, token: undefined, code: 4401 }
		];
		for (const { name, token, code } of cases) {
			const y = yClient(name, token);
			const terminal = waitFor<{ code: number; reason: string }>(`terminal close of ${name}`, (done) =>
				y.provider.on('closed', (event) => done(event))
			);
			const h = hClient(name, token ?? '');
			const [close, reason] = await Promise.all([y.closed(), authFailure(h)]);
			expect({ name, code: close.code }).toEqual({ name, code });
			expect(close.reason).toBe(reason);
			// 4400–4499: the provider stops reconnecting by itself (its default shouldReconnect).
			expect(await terminal).toEqual(close);
			expect(y.provider.shouldConnect).toBe(false);
		}
	});

	it('a crew removal closes the worker’s y-websocket connection with 4403 access_revoked (DIAL-7)', async () => {
		const { jobId, owner } = await createJob([ids.ana]);
		const ana = yClient(`materials:${jobId}`, tokens.ana);
		await ana.synced();
		owner.entity.removeMember(ids.ana);
		expect(await ana.closed()).toEqual({ code: 4403, reason: accessRevokedReason });
	});

	describe('a raw client (DIAL-4, DIAL-5)', () => {
		function rawSocket(
			name: string
		): Promise<{ ws: RawWebSocket; frames: Uint8Array[]; closed: Promise<number> }> {
			const ws = new RawWebSocket(`${yjs}/${name}?token=${tokens.owner}`);
			const frames: Uint8Array[] = [];
			ws.on('message', (data: Buffer) => frames.push(new Uint8Array(data)));
			const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
			return waitFor('raw socket open', (done) => ws.on('open', () => done({ ws, frames, closed })));
		}

		const syncStep1 = (doc: Y.Doc) => {
			const encoder = encoding.createEncoder();
			encoding.writeVarUint(encoder, 0);
			syncProtocol.writeSyncStep1(encoder, doc);
			return encoding.toUint8Array(encoder);
		};

		it('gets only y-websocket message types back: no auth replies, sync status or stateless acks', async () => {
			const name = `materials:${crypto.randomUUID()}`;
			const { ws, frames } = await rawSocket(name);
			const doc = new Y.Doc();
			doc.getMap('materials').set(crypto.randomUUID(), new Y.Map());
			const update = encoding.createEncoder();
			encoding.writeVarUint(update, 0);
			syncProtocol.writeUpdate(update, Y.encodeStateAsUpdate(doc));
			ws.send(encoding.toUint8Array(update));
			// Hocuspocus answers each document's messages in order: the sync status of the update
			// (dropped) goes out before the reply to this step 1, and the durable ack once committed.
			const reader = createDocStore(rawDb);
			await untilDb('the update stored', async () => (await reader.load(name)) !== null);
			const replied = waitFor('the reply to the step 1', (done) =>
				ws.on('message', (data: Buffer) => data[0] === 0 && data[1] === 1 && done())
			);
			ws.send(syncStep1(new Y.Doc()));
			await replied;
			expect(frames.map((f) => f[0]).filter((t) => t !== 0 && t !== 1 && t !== 3)).toEqual([]);
			ws.close();
		});

		it.each([
			['Auth (2)', [2, 0, 0], 1002],
			['SyncReply (4)', [4, 0, 0], 1002],
			['Stateless (5)', [5, 1, 0x78], 1002],
			['Close (7)', [7, 0], 1002],
			['an empty frame', [], 1002]
		])('is closed for %s', async (_label, bytes, code) => {
			const { ws, closed } = await rawSocket(`materials:${crypto.randomUUID()}`);
			ws.send(new Uint8Array(bytes));
			expect(await closed).toBe(code);
		});

		it('is closed with 1003 for a text frame, by the shared frame check', async () => {
			const { ws, closed } = await rawSocket(`materials:${crypto.randomUUID()}`);
			ws.send('hello');
			expect(await closed).toBe(1003);
		});
	});

	it('refuses an upgrade of /yjs/ without a document name (DIAL-1)', async () => {
		const ws = new RawWebSocket(`${yjs}/?token=${tokens.owner}`);
		const status = await waitFor<number>('the refusal', (done) =>
			ws.on('unexpected-response', (_req, res) => done(res.statusCode ?? 0))
		);
		ws.on('error', () => {});
		expect(status).toBe(404);
	});
});

/**
 * DIAL-9: a y-websocket edit is as safe as the server's update log. Real server processes
 * (scripts/start.mjs) on real Postgres; the writer and an observer speak y-websocket only.
 */
describe('y-websocket dialect: server process crash', () => {
	const seed = testSeed();
	console.log(`y-websocket.test.ts seed=${seed} (replay with TEST_SEED=${seed})`);
	let database: TestDatabase;
	let ownerId: string;
	const servers: ServerProcess[] = [];
	const clients: YClient[] = [];

	beforeAll(async () => {
		database = await openTestDatabase();
		ownerId = (await database.addUser('owner@yws-crash.test', 'OWNER')).id;
	});

	afterAll(async () => {
		for (const client of clients) client.destroy();
		for (const server of servers) await killIfRunning(server);
		await database?.drop();
	});

	async function start(): Promise<{ url: string; server: ServerProcess; token: string }> {
		const server = await startServerProcess({ databaseUrl: database.databaseUrl });
		servers.push(server);
		return { server, url: yjsUrl(server.ws), token: await login(server.http, 'owner@yws-crash.test') };
	}

	function client(url: string, name: string, token: string): YClient {
		const c = new YClient(url, name, token);
		clients.push(c);
		return c;
	}

	/** What the update log holds for `name`, read straight from Postgres. */
	const stored = async (name: string) => materialNames(await createDocStore(database.db).load(name));

	/** Polls the database (another process writes it) until `check` holds. */
	const pollStored = (name: string, check: (names: Map<string, string>) => boolean) =>
		waitUntil(async () => check(await stored(name)), {
			timeoutMs: 15_000,
			what: `the update log of ${name}`
		});

	it('kill -9 after y-websocket edits were relayed loses nothing the server stored', async () => {
		const random = seededRandom(seed);
		const name = `materials:${crypto.randomUUID()}`;
		const jobId = name.slice('materials:'.length);
		const first = await start();
		const writer = client(first.url, name, first.token);
		const observer = client(first.url, name, first.token);
		await Promise.all([writer.synced(), observer.synced()]);
		const list = new MaterialListDoc(writer.doc, jobId, {
			writer: { userId: ownerId, deviceId: 'yws-writer', role: 'OWNER' },
			clock: new HybridClock()
		});
		const relayed = () => materialNames(observer.doc);
		let made = 0;
		const edit = () => list.add({ name: `m-${made++}`, quantity: made, unit: 'pcs' });

		// A first batch, relayed and committed before the load starts: the kill must not lose it.
		const early = Array.from({ length: 20 }, edit).map((e) => e.id);
		await until([observer.doc], () => early.every((id) => relayed().has(id)), 'the first batch relayed');
		await pollStored(name, (names) => early.every((id) => names.has(id)));

		// Then a steady stream, killed once a random number of further edits has been relayed.
		const killAfter = early.length + 50 + Math.floor(random() * 350);
		const exited = first.server.exited;
		const timer = setInterval(edit, 3);
		await until([observer.doc], () => relayed().size >= killAfter, `${killAfter} edits relayed`, 60_000);
		process.kill(first.server.pid, 'SIGKILL');
		const { signal } = await exited;
		clearInterval(timer);
		const relayedCount = relayed().size;
		writer.destroy();
		observer.destroy();
		expect(signal).toBe('SIGKILL');

		const inLog = await stored(name);
		const second = await start();
		const reader = client(second.url, name, second.token);
		await reader.synced();
		const served = materialNames(reader.doc);
		console.log(
			`y-websocket.test.ts: killed after ${relayedCount} relayed of ${made} made; ${inLog.size} in the update log, ${served.size} served after restart`
		);
		for (const id of early) expect(served.has(id), id).toBe(true);
		expect(served).toEqual(inLog);
		second.server.proc.kill('SIGTERM');
		expect((await second.server.exited).code).toBe(0);
	}, 120_000);

	it('SIGTERM stores every y-websocket edit the server relayed', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		const first = await start();
		const writer = client(first.url, name, first.token);
		const observer = client(first.url, name, first.token);
		await Promise.all([writer.synced(), observer.synced()]);
		const list = new MaterialListDoc(writer.doc, name.slice('materials:'.length), {
			writer: { userId: ownerId, deviceId: 'yws-term', role: 'OWNER' },
			clock: new HybridClock()
		});
		let made = 0;
		const timer = setInterval(() => list.add({ name: `t-${made++}`, quantity: 1, unit: 'pcs' }), 3);
		await until([observer.doc], () => materialNames(observer.doc).size >= 200, '200 edits relayed', 60_000);
		first.server.proc.kill('SIGTERM');
		const { code } = await first.server.exited;
		clearInterval(timer);
		const relayed = materialNames(observer.doc);
		writer.destroy();
		observer.destroy();
		expect(code).toBe(0);

		const second = await start();
		const reader = client(second.url, name, second.token);
		await reader.synced();
		const served = materialNames(reader.doc);
		for (const [id, materialName] of relayed) expect(served.get(id), id).toBe(materialName);
		second.server.proc.kill('SIGTERM');
		expect((await second.server.exited).code).toBe(0);
	}, 120_000);
});
