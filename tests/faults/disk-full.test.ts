import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createUser } from '../../server/auth/users.ts';
import { migrate } from '../../server/db/migrate.ts';
import { openPgliteDb } from '../../server/db/pglite.ts';
import { testUserOptions } from '../../server/testing/app.ts';
import { login, testUserPassword } from '../integration/support/server-process.ts';
import { seededRandom, testSeed } from '../support/random.ts';
import { Crew } from './support/crew.ts';
import { faultParams, pace, recoverTimeoutMs } from './support/params.ts';
import { recordFault } from './support/record.ts';
import { healthUntil, randomMoment, ServerFleet } from './support/servers.ts';
import { mountSmallDisk, type SmallDisk } from './support/small-disk.ts';

// Fault record: the embedded database (PGlite under DATA_DIR) runs out of disk under load. DATA_DIR
// is a size-limited tmpfs; a filler file takes the rest of it, then is deleted (space returns).
const seed = testSeed();
console.log(`faults/disk-full.test.ts seed=${seed} (replay with TEST_SEED=${seed})`);

const diskMb = 96;

describe('fault: disk full under the embedded database', () => {
	const fleet = new ServerFleet();
	const crews: Crew[] = [];
	let disk: SmallDisk | null = null;

	afterAll(async () => {
		for (const crew of crews) crew.destroy();
		await fleet.stopAll();
		await disk?.destroy();
	});

	it(`PGlite's disk full for ${faultParams.outageMs / 1000} s: writes refused, nothing acknowledged lost, recovers`, async () => {
		const random = seededRandom(seed);
		disk = await mountSmallDisk(diskMb);
		// This machine runs the suite as root; a machine that refuses the mount must say so, not pass.
		expect(disk, 'mount -t tmpfs (run as root)').not.toBeNull();
		if (!disk) return;
		const dataDir = join(disk.dir, 'data');
		const email = 'owner@disk.faults.test';
		const setup = await openPgliteDb({ dataDir });
		await migrate(setup);
		const owner = await createUser(
			setup,
			{ email, role: 'OWNER', name: 'Owner', password: testUserPassword },
			testUserOptions
		);
		await setup.close();

		const server = await fleet.start('', { DATA_DIR: dataDir });
		const token = await login(server.http, email);
		const crew = new Crew(server, {
			token,
			ownerId: owner.id,
			label: 'disk',
			jobs: 2,
			devicesPerJob: 2,
			pushers: 1,
			random
		});
		crews.push(crew);
		await crew.synced();
		await crew.settle();
		const load = crew.startLoad(pace);
		await randomMoment(random, 200, 800);
		const filled = disk.fill();
		const fullAt = performance.now();
		// While full: /healthz reports the database down (the load's next write meets ENOSPC), and a
		// raw push, as any client would send it, is refused with a 503 and a code, not a 500 or a hang.
		const healthWhileFull = await healthUntil(
			server.http,
			(h) => h.status === 503 && h.body?.db === 'down',
			faultParams.outageMs / 2
		);
		const rawPush = await fetch(`${server.http}/api/sync/push`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: JSON.stringify({
				deviceId: 'disk-raw-device',
				operations: [
					{
						id: 'disk-raw-op',
						timestamp: Date.now(),
						type: 'create',
						entity: 'material',
						entityId: randomUUID(),
						data: { jobId: crew.jobIds[0], name: 'pushed while full', quantity: 1, unit: 'box' }
					}
				]
			}),
			signal: AbortSignal.timeout(10_000)
		});
		const rawRefusal = {
			status: rawPush.status,
			code: ((await rawPush.json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code,
			retryAfter: rawPush.headers.get('retry-after'),
			whileFull: performance.now() - fullAt < faultParams.outageMs
		};
		// How long the disk stays full: the fault itself.
		await delay(Math.max(0, faultParams.outageMs - (performance.now() - fullAt)));
		const refusals = crew.pushers.map((p) => p.lastRefusal).filter(Boolean);
		const pushesRefusedWhileFull = crew.pushers.flatMap((p) =>
			p.ops.filter((op) => op.sentAtMs > fullAt && op.attempts > 1)
		);
		const diskErrors = server.logs.filter((l) =>
			/ENOSPC|No space left|could not extend/i.test(JSON.stringify(l))
		);
		await disk.free();
		const freedAt = performance.now();
		await load.stop();
		let settleError: unknown;
		try {
			await crew.settle(recoverTimeoutMs);
		} catch (error) {
			settleError = error;
			// What the full disk left stuck is in the server's log; the process is gone once the suite ends.
			const recent = server.logs.filter((l) => Number(l.level) >= 40).slice(-40);
			console.log(
				`server pid ${server.pid}: last warnings and errors\n${recent.map((l) => JSON.stringify(l)).join('\n')}`
			);
		}
		const recoverMs = settleError ? Number.NaN : performance.now() - freedAt;
		const health = await healthUntil(server.http, (h) => h.status === 200);
		// Read what is stored with the server gone (PGlite is one process's), after a clean stop.
		server.proc.kill('SIGTERM');
		const { code } = await server.exited;
		const db = await openPgliteDb({ dataDir });
		try {
			const tally = await crew.tally(db);
			const ackedMissing = await crew.ackedButMissing(db);
			const pushesBad = await crew.pushesNotOnce(db);
			const unconverged = await crew.unconverged(db, 1_000);
			recordFault({
				scenario: 'disk full (PGlite under DATA_DIR)',
				parameters: `tmpfs ${diskMb} MB, filler of ${Math.round(filled / 1e6)} MB fills it for ${faultParams.outageMs / 1000} s (mount ran); 4 devices + 1 REST client`,
				seed,
				...tally,
				recoverMs,
				converged: unconverged.length === 0,
				ok: !settleError && ackedMissing.length === 0 && health.status === 200 && code === 0,
				notes: [
					`${diskErrors.length} disk errors logged`,
					`database lost ${server.logs.filter((l) => l.subsystem === 'db' && /lost/.test(String(l.msg))).length}× / reopened ${server.logs.filter((l) => l.msg === 'embedded database reopened').length}×`,
					`/healthz while full: ${healthWhileFull.status} db ${healthWhileFull.body?.db}`,
					`raw push while full: ${rawRefusal.status} ${rawRefusal.code ?? ''}`,
					refusals.length ? `REST answered "${refusals[0]}"` : 'no REST refusal seen',
					`${pushesRefusedWhileFull.length} pushes retried while full`,
					settleError ? `NOT RECOVERED: ${(settleError as Error).message}` : ''
				]
					.filter(Boolean)
					.join('; ')
			});
			expect(healthWhileFull, '/healthz while the disk is full').toEqual({
				status: 503,
				body: { ok: false, db: 'down' }
			});
			expect(rawRefusal, 'a push while the disk is full').toEqual({
				status: 503,
				code: 'database_unavailable',
				retryAfter: '1',
				whileFull: true
			});
			expect(settleError).toBeUndefined();
			expect(ackedMissing).toEqual([]);
			expect(pushesBad).toEqual([]);
			expect(unconverged).toEqual([]);
			expect(crew.errors).toEqual([]);
			expect(health.status).toBe(200);
			expect(code).toBe(0);
		} finally {
			await db.close();
		}
	}, 300_000);
});
