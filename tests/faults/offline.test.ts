import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { login } from '../integration/support/server-process.ts';
import { seededRandom, testSeed } from '../support/random.ts';
import { Crew } from './support/crew.ts';
import { type FaultDatabase, openFaultDatabase } from './support/database.ts';
import { CrewDevice } from './support/devices.ts';
import { faultParams, pace, recoverTimeoutMs } from './support/params.ts';
import { recordFault } from './support/record.ts';
import { healthUntil, ServerFleet } from './support/servers.ts';

// Fault record: a device offline for a week comes back with thousands of edits in one update, and a
// crowd of devices reconnects at once to a restarted server.
const seed = testSeed();
console.log(`faults/offline.test.ts seed=${seed} (replay with TEST_SEED=${seed})`);

describe('fault: devices offline, then all back at once', () => {
	let database: FaultDatabase;
	const fleet = new ServerFleet();
	const crews: Crew[] = [];
	const devices: CrewDevice[] = [];

	beforeAll(async () => {
		database = await openFaultDatabase();
	});

	afterAll(async () => {
		for (const crew of crews) crew.destroy();
		for (const device of devices) device.disconnect();
		await fleet.stopAll();
		await database?.drop();
	});

	it(`a week offline: ${faultParams.offlineAdds} adds + ${faultParams.offlineChanges} changes come back as one update`, async () => {
		const random = seededRandom(seed);
		const server = await fleet.start(database.urlFor());
		const token = await login(server.http, database.ownerEmail);
		// Online colleagues keep editing the same list all week (websocket and REST).
		const crew = new Crew(server, {
			token,
			ownerId: database.ownerId,
			label: 'week',
			jobs: 1,
			devicesPerJob: 2,
			pushers: 1,
			random
		});
		crews.push(crew);
		await crew.synced();
		const offline = new CrewDevice(crew.docNames()[0] as string, token, database.ownerId, 'week-offline');
		devices.push(offline);
		const load = crew.startLoad(pace);
		for (let i = 0; i < faultParams.offlineAdds; i++) offline.add();
		for (let i = 0; i < faultParams.offlineChanges; i++) offline.change(random());
		const updateBytes = Y.encodeStateAsUpdate(offline.doc).byteLength;
		const backAt = performance.now();
		offline.moveTo(server.ws);
		await offline.allDurable(recoverTimeoutMs);
		const recoverMs = performance.now() - backAt;
		await load.stop();
		await crew.settle(recoverTimeoutMs);
		crew.devices.push(offline); // from here on checked like the others
		const health = await healthUntil(server.http, (h) => h.status === 200);
		const tally = await crew.tally(database.db);
		const unconverged = await crew.unconverged(database.db);
		recordFault({
			scenario: 'a week offline, then back',
			parameters: `${faultParams.offlineAdds} adds + ${faultParams.offlineChanges} changes offline (one ${(updateBytes / 1e6).toFixed(2)} MB update) while 2 devices + 1 REST client edit the same list`,
			seed,
			...tally,
			recoverMs,
			converged: unconverged.length === 0,
			ok: health.status === 200 && crew.errors.length === 0,
			notes: `reconnect → all ${offline.edits.length} offline edits durable in ${Math.round(recoverMs)} ms`
		});
		expect(await crew.ackedButMissing(database.db)).toEqual([]);
		expect(await crew.pushesNotOnce(database.db)).toEqual([]);
		expect(unconverged).toEqual([]);
		expect(crew.errors).toEqual([]);
		expect(health.status).toBe(200);
	}, 600_000);

	it(`${faultParams.reconnectDevices} devices reconnect at once after a server restart`, async () => {
		const random = seededRandom(seed + 1);
		let server = await fleet.start(database.urlFor());
		const token = await login(server.http, database.ownerEmail);
		const jobs = 5;
		const crew = new Crew(server, {
			token,
			ownerId: database.ownerId,
			label: 'crowd',
			jobs,
			devicesPerJob: faultParams.reconnectDevices / jobs,
			pushers: 2,
			random
		});
		crews.push(crew);
		await crew.synced(60_000);
		// A slower pace per device: 50 of them.
		const load = crew.startLoad({ editEveryMs: pace.editEveryMs * 10, pushEveryMs: pace.pushEveryMs });
		await new Promise((resolve) => setTimeout(resolve, 1_000)); // a second of load before the restart
		server.proc.kill('SIGTERM');
		expect((await server.exited).code).toBe(0);
		server = await fleet.start(database.urlFor());
		const backAt = performance.now();
		crew.moveTo(server); // all at once, as a load balancer sends them back
		await crew.synced(recoverTimeoutMs);
		const resyncedMs = performance.now() - backAt;
		await load.stop();
		await crew.settle(recoverTimeoutMs);
		const recoverMs = performance.now() - backAt;
		const health = await healthUntil(server.http, (h) => h.status === 200);
		const tally = await crew.tally(database.db);
		const unconverged = await crew.unconverged(database.db);
		recordFault({
			scenario: 'devices reconnect at once after a restart',
			parameters: `${faultParams.reconnectDevices} devices on ${jobs} jobs + 2 REST clients; SIGTERM, restart, all reconnect together`,
			seed: seed + 1,
			...tally,
			recoverMs,
			converged: unconverged.length === 0,
			ok: health.status === 200 && crew.errors.length === 0,
			notes: `all ${faultParams.reconnectDevices} synced ${Math.round(resyncedMs)} ms after the restart`
		});
		expect(await crew.ackedButMissing(database.db)).toEqual([]);
		expect(await crew.pushesNotOnce(database.db)).toEqual([]);
		expect(unconverged).toEqual([]);
		expect(crew.errors).toEqual([]);
		expect(health.status).toBe(200);
	}, 600_000);
});
