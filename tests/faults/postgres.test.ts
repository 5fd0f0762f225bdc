import { afterAll, beforeAll, describe, it } from 'vitest';
import { login } from '../integration/support/server-process.ts';
import { seededRandom, testSeed } from '../support/random.ts';
import { Crew } from './support/crew.ts';
import { type FaultDatabase, openFaultDatabase } from './support/database.ts';
import { expectSurvived } from './support/expect-outage.ts';
import { runOutage } from './support/outage.ts';
import { type OwnPostgres, startOwnPostgres } from './support/own-services.ts';
import { faultParams, pace } from './support/params.ts';
import { partitionKinds } from './support/partitions.ts';
import { ServerFleet } from './support/servers.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

// Fault record: the database goes away under load. On the scenario's OWN throwaway cluster (stopping
// the machine's shared Postgres would break every other suite), see support/own-services.ts.
const seed = testSeed();
console.log(`faults/postgres.test.ts seed=${seed} (replay with TEST_SEED=${seed})`);

const load = `4 devices on 2 jobs every ${pace.editEveryMs} ms + 2 REST clients`;

describe('fault: Postgres goes away', () => {
	let pg: OwnPostgres;
	let database: FaultDatabase;
	const fleet = new ServerFleet();
	const crews: Crew[] = [];
	const proxies: TcpProxy[] = [];

	beforeAll(async () => {
		pg = await startOwnPostgres();
		database = await openFaultDatabase(pg.url);
	}, 120_000);

	afterAll(async () => {
		for (const crew of crews) crew.destroy();
		await fleet.stopAll();
		for (const proxy of proxies) await proxy.close();
		await database?.drop();
		await pg?.destroy();
	});

	async function crewOn(url: string, label: string, random: () => number) {
		const server = await fleet.start(url);
		const token = await login(server.http, database.ownerEmail);
		const crew = new Crew(server, {
			token,
			ownerId: database.ownerId,
			label,
			jobs: 2,
			devicesPerJob: 2,
			pushers: 2,
			random
		});
		crews.push(crew);
		return { server, crew };
	}

	it('Postgres restarted under load', async () => {
		const random = seededRandom(seed);
		const { server, crew } = await crewOn(database.urlFor(), 'pg-restart', random);
		const result = await runOutage({
			scenario: 'Postgres restarted',
			parameters: `pg_ctl restart -m fast; ${load}`,
			seed,
			random,
			crew,
			db: () => database.db,
			healthOf: [],
			servers: [server],
			durationMs: 0,
			databaseLost: false,
			begin: () => pg.restart(),
			end: async () => {}
		});
		expectSurvived(result, crew.errors, [server]);
	}, 300_000);

	it(`Postgres stopped for ${faultParams.outageMs / 1000} s under load`, async () => {
		const random = seededRandom(seed + 1);
		const { server, crew } = await crewOn(database.urlFor(), 'pg-stop', random);
		const result = await runOutage({
			scenario: 'Postgres stopped',
			parameters: `down ${faultParams.outageMs / 1000} s (pg_ctl stop -m fast … start); ${load}`,
			seed: seed + 1,
			random,
			crew,
			db: () => database.db,
			healthOf: [server],
			servers: [server],
			durationMs: faultParams.outageMs,
			databaseLost: true,
			begin: () => pg.stop(),
			end: () => pg.start()
		});
		expectSurvived(result, crew.errors, [server]);
	}, 400_000);

	it.each(partitionKinds.map((kind, i) => [kind.label, kind, i] as const))(
		`partition (%s) between one instance and Postgres, healed after ${faultParams.partitionMs / 1000} s`,
		async (label, kind, i) => {
			const random = seededRandom(seed + 2 + i);
			const proxy = await startTcpProxy({ host: '127.0.0.1', port: pg.port });
			proxies.push(proxy);
			const { server, crew } = await crewOn(database.urlFor(proxy), `pg-partition-${label}`, random);
			const result = await runOutage({
				scenario: `partition instance ↔ Postgres (${label})`,
				parameters: `${kind.parameters} for ${faultParams.partitionMs / 1000} s, then heals; ${load}`,
				seed: seed + 2 + i,
				random,
				crew,
				db: () => database.db,
				// Only slow: the database is still there, and durability may be claimed as it comes.
				healthOf: kind.cutsOff ? [server] : [],
				servers: [server],
				durationMs: faultParams.partitionMs,
				databaseLost: kind.cutsOff,
				begin: async () => proxy.setMode(kind.mode),
				end: async () => proxy.heal()
			});
			expectSurvived(result, crew.errors, [server]);
		},
		300_000
	);
});
