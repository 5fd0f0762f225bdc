import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { login, type ServerProcess } from '../integration/support/server-process.ts';
import { seededRandom, testSeed } from '../support/random.ts';
import { Crew } from './support/crew.ts';
import { type FaultDatabase, openFaultDatabase } from './support/database.ts';
import { CrewDevice } from './support/devices.ts';
import { faultParams, pace, recoverTimeoutMs } from './support/params.ts';
import { recordFault } from './support/record.ts';
import { healthUntil, randomMoment, ServerFleet } from './support/servers.ts';

// Fault record: a server process killed with SIGKILL at random moments, round after round, and
// stopped with SIGTERM, both under websocket and REST load (docs/faults.md).
const seed = testSeed();
console.log(`faults/kill.test.ts seed=${seed} (replay with TEST_SEED=${seed})`);

describe('fault: server process killed', () => {
	let database: FaultDatabase;
	const fleet = new ServerFleet();
	const crews: Crew[] = [];

	beforeAll(async () => {
		database = await openFaultDatabase();
	});

	afterAll(async () => {
		for (const crew of crews) crew.destroy();
		await fleet.stopAll();
		await database?.drop();
	});

	it(`kill -9 at random moments, ${faultParams.killRounds} rounds in a row, under websocket and REST load`, async () => {
		const random = seededRandom(seed);
		let server = await fleet.start(database.urlFor());
		const token = await login(server.http, database.ownerEmail);
		const crew = new Crew(server, {
			token,
			ownerId: database.ownerId,
			label: 'kill',
			jobs: 2,
			devicesPerJob: 2,
			pushers: 2,
			random
		});
		crews.push(crew);
		await crew.synced();
		const load = crew.startLoad(pace);
		let worstRecoverMs = 0;
		for (let round = 0; round < faultParams.killRounds; round++) {
			await randomMoment(random, 200, 1_500);
			process.kill(server.pid, 'SIGKILL');
			expect((await server.exited).signal).toBe('SIGKILL');
			// While it is down: the database alone holds every edit acknowledged so far.
			expect(await crew.ackedButMissing(database.db)).toEqual([]);
			const downAt = performance.now();
			server = await fleet.start(database.urlFor());
			crew.moveTo(server);
			await crew.synced();
			worstRecoverMs = Math.max(worstRecoverMs, performance.now() - downAt);
		}
		await load.stop();
		const settleMs = await crew.settle(recoverTimeoutMs);
		const health = await healthUntil(server.http, (h) => h.status === 200);
		const tally = await crew.tally(database.db);
		const unconverged = await crew.unconverged(database.db);
		recordFault({
			scenario: 'kill -9 of the server, rounds in a row',
			parameters: `${faultParams.killRounds} rounds, kill 200–1500 ms into each; 4 devices on 2 jobs every ${pace.editEveryMs} ms + 2 REST clients`,
			seed,
			...tally,
			recoverMs: worstRecoverMs,
			converged: unconverged.length === 0,
			ok: crew.errors.length === 0 && health.status === 200,
			notes: `worst kill→clients resynced ${Math.round(worstRecoverMs)} ms; then all durable in ${Math.round(settleMs)} ms`
		});
		expect(crew.errors).toEqual([]);
		expect(await crew.ackedButMissing(database.db)).toEqual([]);
		expect(await crew.pushesNotOnce(database.db)).toEqual([]);
		expect(unconverged).toEqual([]);
		expect(health.status).toBe(200);
		expect(tally.editsAcknowledged).toBe(tally.editsMade);
		server.proc.kill('SIGTERM');
		expect((await server.exited).code).toBe(0);
	}, 600_000);

	it('SIGTERM under load: everything the server received is stored, exit 0', async () => {
		const random = seededRandom(seed + 1);
		const server: ServerProcess = await fleet.start(database.urlFor());
		const token = await login(server.http, database.ownerEmail);
		const crew = new Crew(server, {
			token,
			ownerId: database.ownerId,
			label: 'term',
			jobs: 2,
			devicesPerJob: 2,
			pushers: 2,
			random
		});
		crews.push(crew);
		// An observer per document: whatever reaches it went through the server, so the server received it.
		const observers = crew
			.docNames()
			.map((name, i) => new CrewDevice(name, token, database.ownerId, `observer-${i}`, { url: server.ws }));
		await crew.synced();
		await Promise.all(observers.map((o) => o.provider && crew.synced()));
		const load = crew.startLoad(pace);
		await randomMoment(random, 500, 2_000);
		server.proc.kill('SIGTERM');
		const { code } = await server.exited;
		const received = observers.map((o) => ({
			name: o.docName,
			vector: Y.decodeStateVector(Y.encodeStateVector(o.doc))
		}));
		for (const o of observers) o.disconnect();
		const stopAt = performance.now();
		// Received = relayed to the observer; stored = in the database once the process is gone.
		const stored = await crew.stored(database.db);
		const notStored: string[] = [];
		for (const { name, vector } of received) {
			const have = Y.decodeStateVector(Y.encodeStateVector(stored.get(name) as Y.Doc));
			for (const [client, clock] of vector)
				if ((have.get(client) ?? 0) < clock)
					notStored.push(`${name} client ${client}: ${have.get(client) ?? 0} < ${clock}`);
		}
		const ackedMissingAtStop = await crew.ackedButMissing(database.db);
		const pushesMissingAtStop = await crew.pushesNotOnce(database.db);

		const restarted = await fleet.start(database.urlFor());
		crew.moveTo(restarted);
		await load.stop();
		const settleMs = await crew.settle(recoverTimeoutMs);
		const recoverMs = performance.now() - stopAt;
		const tally = await crew.tally(database.db);
		const unconverged = await crew.unconverged(database.db);
		recordFault({
			scenario: 'SIGTERM under load',
			parameters: `SIGTERM 500–2000 ms into the load; 4 devices + 2 observers + 2 REST clients`,
			seed: seed + 1,
			...tally,
			recoverMs,
			converged: unconverged.length === 0,
			ok: code === 0 && notStored.length === 0 && crew.errors.length === 0,
			notes: `exit code ${code}; ${notStored.length} received-but-unstored ranges; all durable ${Math.round(settleMs)} ms after restart`
		});
		expect(code).toBe(0);
		expect(server.logs.map((l) => l.msg)).toContain('stopped');
		expect(notStored).toEqual([]);
		expect(ackedMissingAtStop).toEqual([]);
		expect(pushesMissingAtStop).toEqual([]);
		expect(crew.errors).toEqual([]);
		expect(unconverged).toEqual([]);
		restarted.proc.kill('SIGTERM');
		expect((await restarted.exited).code).toBe(0);
	}, 300_000);
});
