import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
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
import { connect, type Edit, MaterialWriter, materialNames, synced } from './support/writers.ts';

// docs/architecture.md "Durability": "`kill -9` of the server at any moment loses nothing that was acknowledged durable" and
// "graceful shutdown on SIGTERM flushes everything". Real server processes (scripts/start.mjs) on
// real Postgres, written to by several providers through the crdt views.
const seed = testSeed();
console.log(`crash.test.ts seed=${seed} (replay with TEST_SEED=${seed})`);

const WRITERS_PER_DOC = 2;
const DOCS = 3;
/** One edit per writer per tick: 6 writers × ~330/s keeps the group commit busy on 2 cores. */
const EDIT_EVERY_MS = 3;

describe('server process crash and shutdown', () => {
	let database: TestDatabase;
	let ownerId: string;
	const servers: ServerProcess[] = [];

	beforeAll(async () => {
		database = await openTestDatabase();
		ownerId = (await database.addUser('owner@crash.test', 'OWNER')).id;
	});

	afterAll(async () => {
		for (const server of servers) await killIfRunning(server);
		await database?.drop();
	});

	async function start(): Promise<{ server: ServerProcess; token: string }> {
		const server = await startServerProcess({ databaseUrl: database.databaseUrl });
		servers.push(server);
		return { server, token: await login(server.http, 'owner@crash.test') };
	}

	function openWriters(
		server: ServerProcess,
		token: string,
		docNames: string[],
		round: string
	): MaterialWriter[] {
		return docNames.flatMap((name, d) =>
			Array.from(
				{ length: WRITERS_PER_DOC },
				(_, w) => new MaterialWriter(server.ws, name, token, ownerId, `${round}-d${d}w${w}`)
			)
		);
	}

	/** Every writer edits on a timer until `stop()`; `onEdit` sees the running total. */
	function writeContinuously(writers: MaterialWriter[], onEdit: (total: number) => void): { stop(): void } {
		let total = 0;
		const timers = writers.map((writer) =>
			setInterval(() => {
				writer.edit();
				onEdit(++total);
			}, EDIT_EVERY_MS)
		);
		return { stop: () => timers.forEach(clearInterval) };
	}

	/** Resolves at the first durable acknowledgement any writer gets. */
	function firstDurableAck(writers: MaterialWriter[]): Promise<void> {
		return waitFor(
			'a first durable acknowledgement',
			(done) => {
				const offs = writers.map((w) =>
					w.onDurable(() => {
						for (const off of offs) off();
						done();
					})
				);
			},
			30_000
		);
	}

	/** A fresh client per document, through a (re)started server: what every user would now see. */
	async function readThroughServer(server: ServerProcess, token: string, docNames: string[]) {
		const seen = new Map<string, Map<string, string>>();
		for (const name of docNames) {
			const reader = connect(server.ws, name, token);
			try {
				await synced(reader);
				seen.set(name, materialNames(reader.document));
			} finally {
				reader.destroy();
			}
		}
		return seen;
	}

	function missing(edits: Edit[], seen: Map<string, Map<string, string>>): Edit[] {
		return edits.filter((e) => seen.get(e.docName)?.get(e.materialId) !== e.name);
	}

	it('SIGKILL at a random moment under write load loses no durably acknowledged edit (2 rounds)', async () => {
		const random = seededRandom(seed);
		const docNames = Array.from({ length: DOCS }, () => `materials:${crypto.randomUUID()}`);
		const durable: Edit[] = [];
		let made = 0;

		for (const round of ['r1', 'r2']) {
			const { server, token } = await start();
			const writers = openWriters(server, token, docNames, round);
			await Promise.all(writers.map((w) => synced(w.provider)));
			// Kill a random number of edits after the first durable ack: a moment unrelated to the commit
			// cycle, yet with acknowledged edits to lose (on a loaded machine the first group commit can
			// take longer than a fixed count of edits).
			const extraEdits = Math.floor(random() * 1200);
			let killAt = Number.POSITIVE_INFINITY;
			let editsMade = 0;
			const exited = server.exited;
			const load = writeContinuously(writers, (total) => {
				editsMade = total;
				if (total === killAt) process.kill(server.pid, 'SIGKILL');
			});
			const loadStartMs = Date.now();
			await firstDurableAck(writers);
			const firstAckMs = Date.now() - loadStartMs;
			killAt = editsMade + 1 + extraEdits;
			const { signal } = await exited;
			load.stop();
			for (const writer of writers) {
				writer.destroy();
				durable.push(...writer.durableEdits());
				made += writer.edits.length;
			}
			expect(signal).toBe('SIGKILL');
			console.log(
				`crash.test.ts ${round}: first durable ack after ${firstAckMs} ms; killed ${extraEdits} edits later, at edit ${killAt}; ${writers.reduce((n, w) => n + w.durableEdits().length, 0)} acknowledged durable`
			);
		}

		const { server, token } = await start();
		const seen = await readThroughServer(server, token, docNames);
		const present = [...seen.values()].reduce((n, m) => n + m.size, 0);
		console.log(
			`crash.test.ts: ${made} edits made, ${durable.length} acknowledged durable, ${present} present after restart`
		);
		expect(durable.length).toBeGreaterThan(0);
		expect(missing(durable, seen)).toEqual([]);
		server.proc.kill('SIGTERM');
		expect((await server.exited).code).toBe(0);
	}, 120_000);

	it('SIGTERM under write load stores every edit the server received and exits 0', async () => {
		const random = seededRandom(seed + 1);
		const docNames = Array.from({ length: DOCS }, () => `materials:${crypto.randomUUID()}`);
		const { server, token } = await start();
		const writers = openWriters(server, token, docNames, 'term');
		// An observer per document: whatever reaches it went through the server, so the server received it.
		const observers = docNames.map((name) => connect(server.ws, name, token));
		const received = new Map<string, Map<string, string>>();
		const observed = observers.map((observer, i) => {
			const name = docNames[i] as string;
			const record = () => {
				const names = received.get(name) ?? new Map<string, string>();
				for (const [id, n] of materialNames(observer.document)) names.set(id, n);
				received.set(name, names);
			};
			observer.document.on('update', (_u: Uint8Array, _o: unknown, _d: Y.Doc) => record());
			return record;
		});
		await Promise.all([...writers, ...observers].map((p) => synced('provider' in p ? p.provider : p)));

		const stopAt = 300 + Math.floor(random() * 1200);
		const load = writeContinuously(writers, (total) => {
			if (total === stopAt) server.proc.kill('SIGTERM');
		});
		const { code } = await waitFor<{ code: number | null }>(
			'graceful exit',
			(done) => void server.exited.then(done),
			30_000
		);
		load.stop();
		for (const record of observed) record();
		for (const p of [...writers.map((w) => w.provider), ...observers]) p.destroy();
		expect(code).toBe(0);
		expect(server.logs.map((l) => l.msg)).toContain('stopped');

		const durable = writers.flatMap((w) => w.durableEdits());
		const receivedCount = [...received.values()].reduce((n, m) => n + m.size, 0);
		const restarted = await start();
		const seen = await readThroughServer(restarted.server, restarted.token, docNames);
		const made = writers.reduce((n, w) => n + w.edits.length, 0);
		console.log(
			`crash.test.ts SIGTERM after ${stopAt} edits: ${made} made, ${receivedCount} seen relayed by the server, ${durable.length} acknowledged durable`
		);
		expect(receivedCount).toBeGreaterThan(0);
		for (const [name, names] of received) {
			for (const [id, materialName] of names)
				expect(seen.get(name)?.get(id), `${name} ${id}`).toBe(materialName);
		}
		expect(missing(durable, seen)).toEqual([]);
		restarted.server.proc.kill('SIGTERM');
		expect((await restarted.server.exited).code).toBe(0);
	}, 120_000);
});
