import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type AssembledServer, assembleServer } from '../../server/assemble.ts';
import { DbError } from '../../server/db/errors.ts';
import type { Db } from '../../server/db/port.ts';
import { openPgDbOnSchema } from '../../server/db/testing.ts';
import { createDocStore } from '../../server/docs/store.ts';
import { silentLogger } from '../../server/logger.ts';
import { waitFor } from '../../server/testing/app.ts';
import { seededRandom, testSeed } from '../support/random.ts';
import {
	killIfRunning,
	login,
	openTestDatabase,
	type ServerProcess,
	startServerProcess,
	type TestDatabase
} from './support/server-process.ts';
import { type Edit, MaterialWriter, materialNames, synced } from './support/writers.ts';

// docs/architecture.md "Scale-out": two instances on one Postgres and one Redis. A unique key prefix per run keeps
// parallel runs (and other suites) apart on the shared Redis.
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `khs-test-${randomBytes(6).toString('hex')}`;
const authSecret = 'integration-secret-integration-secret';
const seed = testSeed();
console.log(`redis.test.ts seed=${seed} (replay with TEST_SEED=${seed}), redis prefix ${prefix}`);

interface Instance {
	server: AssembledServer;
	ws: string;
	http: string;
}

describe('two instances through Redis', () => {
	let database: TestDatabase;
	let ownerId: string;
	const dbs: Db[] = [];
	const instances: Instance[] = [];
	const writers: MaterialWriter[] = [];
	const processes: ServerProcess[] = [];

	beforeAll(async () => {
		database = await openTestDatabase();
		ownerId = (await database.addUser('owner@redis.test', 'OWNER')).id;
	});

	afterAll(async () => {
		for (const w of writers) w.destroy();
		for (const p of processes) await killIfRunning(p);
		for (const i of instances) await i.server.close();
		for (const db of dbs) await db.close();
		await database?.drop();
	});

	/** An in-process instance exactly as main.ts assembles it with REDIS_URL set, on its own pool. */
	async function instance(options: { db?: Db; compactEveryUpdates?: number } = {}): Promise<Instance> {
		const db = options.db ?? (await openPgDbOnSchema(database.schema));
		dbs.push(db);
		const server = await assembleServer({
			db,
			logger: silentLogger(),
			authSecret,
			redis: { url: redisUrl, prefix },
			...(options.compactEveryUpdates
				? { persistence: { compactEveryUpdates: options.compactEveryUpdates } }
				: {})
		});
		const port = await server.app.listen(0);
		const created = { server, ws: `ws://127.0.0.1:${port}/collab`, http: `http://127.0.0.1:${port}` };
		instances.push(created);
		return created;
	}

	function writer(
		at: Instance | ServerProcess,
		docName: string,
		token: string,
		label: string
	): MaterialWriter {
		const w = new MaterialWriter(at.ws, docName, token, ownerId, label);
		writers.push(w);
		return w;
	}

	function arrives(w: MaterialWriter, edit: Edit, ms = 10_000): Promise<void> {
		return waitFor(
			`${edit.name} to reach ${w.docName} on another instance`,
			(done) => {
				const check = () => materialNames(w.doc).get(edit.materialId) === edit.name && done();
				w.doc.on('update', check);
				check();
			},
			ms
		);
	}

	/** The document as the database alone holds it: snapshot plus log, no server involved. */
	async function stored(docName: string): Promise<Map<string, string>> {
		return materialNames(await createDocStore(database.db).load(docName));
	}

	function missingFrom(names: Map<string, string>, edits: Edit[]): Edit[] {
		return edits.filter((e) => names.get(e.materialId) !== e.name);
	}

	it('clients on different instances converge live', async () => {
		const [a, b] = [await instance(), await instance()];
		const token = await login(a.http, 'owner@redis.test');
		const docName = `materials:${crypto.randomUUID()}`;
		const onA = writer(a, docName, token, 'live-a');
		const onB = writer(b, docName, token, 'live-b');
		await Promise.all([synced(onA.provider), synced(onB.provider)]);
		const fromA = onA.edit();
		await arrives(onB, fromA);
		const fromB = onB.edit();
		await arrives(onA, fromB);
		expect([...materialNames(onA.doc)].sort()).toEqual([...materialNames(onB.doc)].sort());
	});

	it('concurrent edits on both instances to one document: the database alone holds both sets', async () => {
		// Compaction every 10 appends on both instances: snapshots are rewritten concurrently throughout.
		const [a, b] = [await instance({ compactEveryUpdates: 10 }), await instance({ compactEveryUpdates: 10 })];
		const token = await login(a.http, 'owner@redis.test');
		const docName = `materials:${crypto.randomUUID()}`;
		const onA = writer(a, docName, token, 'both-a');
		const onB = writer(b, docName, token, 'both-b');
		await Promise.all([synced(onA.provider), synced(onB.provider)]);
		for (let i = 0; i < 200; i++) {
			onA.edit();
			onB.edit();
			// Let the sockets carry them as separate updates, interleaved with the other instance's.
			if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
		}
		await Promise.all([onA.allDurable(), onB.allDurable()]);
		const names = await stored(docName);
		expect(missingFrom(names, onA.edits)).toEqual([]);
		expect(missingFrom(names, onB.edits)).toEqual([]);
		expect(names.size).toBe(400);
	});

	it('an instance dying after relaying an edit but before committing it: no false durable ack', async () => {
		// Instance A whose log INSERTs never commit (it "dies" mid group commit), B healthy.
		let die: (error: Error) => void = () => {};
		const dead = new Promise<never>((_, reject) => {
			die = reject;
		});
		dead.catch(() => {});
		const realDb = await openPgDbOnSchema(database.schema);
		const stuckDb = new Proxy(realDb, {
			get(target, property, receiver) {
				if (property === 'query') {
					return (sql: string, params?: unknown[]) =>
						sql.trimStart().startsWith('INSERT INTO doc_updates') ? dead : target.query(sql, params);
				}
				const value = Reflect.get(target, property, receiver);
				return typeof value === 'function' ? value.bind(target) : value;
			}
		});
		// Whatever happens below, A must stop waiting, or closing it would hang the suite.
		onTestFinished(() => die(new DbError('CLOSED', 'instance A is gone')));
		const a = await instance({ db: stuckDb });
		const b = await instance();
		const token = await login(a.http, 'owner@redis.test');
		const docName = `materials:${crypto.randomUUID()}`;
		const device = writer(a, docName, token, 'moved');
		const watcher = writer(b, docName, token, 'watcher');
		await Promise.all([synced(device.provider), synced(watcher.provider)]);

		const relayed = device.edit();
		await arrives(watcher, relayed); // B has it in memory, through Redis; A never commits it
		expect(device.durableClock).toBeLessThan(relayed.clock);
		// A dies; the device's load balancer sends it to B, where it keeps editing.
		device.moveTo(b.ws);
		await synced(device.provider);
		device.edit();
		await device.allDurable();
		// The moment B says "durable", the database must hold every edit the ack covers.
		expect(missingFrom(await stored(docName), device.durableEdits())).toEqual([]);
	});

	it('SIGKILL of one instance process under load loses nothing; its clients finish on the other', async () => {
		const random = seededRandom(seed);
		const env = { REDIS_URL: redisUrl, REDIS_PREFIX: prefix };
		const a = await startServerProcess({ databaseUrl: database.databaseUrl, env });
		const b = await startServerProcess({ databaseUrl: database.databaseUrl, env });
		processes.push(a, b);
		const token = await login(a.http, 'owner@redis.test');
		const docNames = [`materials:${crypto.randomUUID()}`, `materials:${crypto.randomUUID()}`];
		const onA = docNames.map((name, i) => writer(a, name, token, `kill-a${i}`));
		const onB = docNames.map((name, i) => writer(b, name, token, `kill-b${i}`));
		const all = [...onA, ...onB];
		await Promise.all(all.map((w) => synced(w.provider)));

		const killAt = 200 + Math.floor(random() * 800);
		let total = 0;
		const timers = all.map((w) =>
			setInterval(() => {
				w.edit();
				if (++total === killAt) process.kill(a.pid, 'SIGKILL');
			}, 3)
		);
		const { signal } = await a.exited;
		for (const timer of timers) clearInterval(timer);
		expect(signal).toBe('SIGKILL');
		const durableAtKill = all.flatMap((w) => w.durableEdits());

		// A's clients reconnect to B with everything they hold; every edit ends up durable there.
		for (const w of onA) w.moveTo(b.ws);
		await Promise.all(all.map((w) => synced(w.provider)));
		await Promise.all(all.map((w) => w.allDurable()));
		const made = all.reduce((n, w) => n + w.edits.length, 0);
		console.log(
			`redis.test.ts: killed instance A after ${killAt} edits (${durableAtKill.length} durable then); ${made} made, all durable on B`
		);
		for (const name of docNames) {
			const names = await stored(name);
			const edits = all.filter((w) => w.docName === name).flatMap((w) => w.edits);
			expect(missingFrom(names, edits)).toEqual([]);
		}
		b.proc.kill('SIGTERM');
		expect((await b.exited).code).toBe(0);
	}, 60_000);
});
