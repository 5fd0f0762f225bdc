import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HybridClock, MaterialListDoc } from '../../crdt/index.ts';
import { login } from '../integration/support/server-process.ts';
import { seededRandom, testSeed } from '../support/random.ts';
import { Crew } from './support/crew.ts';
import { type FaultDatabase, openFaultDatabase } from './support/database.ts';
import { CrewDevice } from './support/devices.ts';
import { faultParams, pace, recoverTimeoutMs } from './support/params.ts';
import { recordFault } from './support/record.ts';
import { healthUntil, ServerFleet } from './support/servers.ts';
import { until } from './support/until.ts';

// Fault record: devices whose wall clocks are a day ahead and a day behind write the same list. The
// HLC (crdt/clock.ts) must keep the merge rules: a write made after seeing another wins over it
// whatever the clocks say (SPEC HLC-2, HLC-3), and `updatedAt` never goes backwards (DUR-1, MAT-7).
const seed = testSeed();
console.log(`faults/clock.test.ts seed=${seed} (replay with TEST_SEED=${seed})`);

describe('fault: device clocks a day off', () => {
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

	it('a day ahead and a day behind: merge rules hold, updatedAt never goes backwards', async () => {
		const random = seededRandom(seed);
		const skew = faultParams.skewMs;
		const clocks = [() => Date.now() + skew, () => Date.now() - skew, undefined, undefined];
		const server = await fleet.start(database.urlFor());
		const token = await login(server.http, database.ownerEmail);
		const crew = new Crew(server, {
			token,
			ownerId: database.ownerId,
			label: 'clock',
			jobs: 1,
			devicesPerJob: 4,
			pushers: 1,
			random,
			nowMs: (i) => clocks[i]
		});
		crews.push(crew);
		const [ahead, behind, normal] = crew.devices as [CrewDevice, CrewDevice, CrewDevice, CrewDevice];
		// A watcher with a true clock records every material's updatedAt each time the list changes.
		const watcher = new CrewDevice(ahead.docName, token, database.ownerId, 'clock-watcher', {
			url: server.ws
		});
		const lastUpdatedAt = new Map<string, number>();
		const wentBack: string[] = [];
		watcher.doc.on('update', () => {
			for (const m of watcher.list.list()) {
				const at = Number(m.updatedAt);
				const before = lastUpdatedAt.get(String(m.id)) ?? 0;
				if (at < before) wentBack.push(`${m.id}: ${before} → ${at}`);
				lastUpdatedAt.set(String(m.id), Math.max(at, before));
			}
		});
		await crew.synced();
		await crew.settle();

		// Free-running load from all clocks at once (concurrent writes: order by skewed wall time is allowed).
		const load = crew.startLoad(pace);
		await delay(faultParams.outageMs); // the load's duration, not a wait for a condition
		await load.stop();
		await crew.settle(recoverTimeoutMs);

		// Causal writes: each device writes after SEEING the previous write; the later write must win
		// everywhere, although "ahead" stamps a day later than "behind".
		const material = ahead.add();
		await until('everyone has the material', () =>
			crew.devices.every((d) => d.list.get(material.materialId))
		);
		const violations: string[] = [];
		let value = 1_000;
		for (const writer of [ahead, behind, normal, ahead, behind]) {
			value++;
			const before = Number(writer.list.require(material.materialId).updatedAt());
			writer.list.require(material.materialId).set({ quantity: value });
			const after = Number(writer.list.require(material.materialId).updatedAt());
			if (after < before) violations.push(`${writer.label} lowered updatedAt ${before} → ${after}`);
			const want = value;
			await until(`quantity ${want} from ${writer.label} everywhere`, () =>
				[...crew.devices, watcher].every((d) => d.list.get(material.materialId)?.get('quantity') === want)
			);
		}
		await crew.settle(recoverTimeoutMs);
		const health = await healthUntil(server.http, (h) => h.status === 200);
		const tally = await crew.tally(database.db);
		const unconverged = await crew.unconverged(database.db);
		const stored = (await crew.stored(database.db)).get(ahead.docName);
		const storedQuantity = stored
			? new MaterialListDoc(stored, 'x', {
					writer: { userId: 'r', deviceId: 'r', role: 'OWNER' },
					clock: new HybridClock()
				})
					.get(material.materialId)
					?.get('quantity')
			: undefined;
		recordFault({
			scenario: 'device clocks a day ahead / behind',
			parameters: `±${skew / 3_600_000} h on 2 of 4 devices; ${faultParams.outageMs / 1000} s of load then 5 causal overwrites`,
			seed,
			...tally,
			recoverMs: 0,
			converged: unconverged.length === 0,
			ok:
				violations.length === 0 && wentBack.length === 0 && storedQuantity === value && health.status === 200,
			notes: `${violations.length} merge-rule violations; updatedAt went backwards ${wentBack.length} times`
		});
		watcher.disconnect();
		expect(violations).toEqual([]);
		expect(wentBack).toEqual([]);
		expect(storedQuantity).toBe(value);
		expect(unconverged).toEqual([]);
		expect(await crew.ackedButMissing(database.db)).toEqual([]);
		expect(await crew.pushesNotOnce(database.db)).toEqual([]);
		expect(crew.errors).toEqual([]);
		expect(health.status).toBe(200);
	}, 300_000);
});
