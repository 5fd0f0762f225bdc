import { afterAll, beforeAll, describe, it } from 'vitest';
import { login, type ServerProcess } from '../integration/support/server-process.ts';
import { seededRandom, testSeed } from '../support/random.ts';
import { Crew } from './support/crew.ts';
import { type FaultDatabase, openFaultDatabase } from './support/database.ts';
import { expectSurvived } from './support/expect-outage.ts';
import { runOutage } from './support/outage.ts';
import { type OwnRedis, startOwnRedis } from './support/own-services.ts';
import { faultParams, pace } from './support/params.ts';
import { partitionKinds } from './support/partitions.ts';
import { ServerFleet } from './support/servers.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

// Fault record: Redis, which relays updates between two instances sharing documents, goes away
// under load. The scenario's OWN redis-server (the machine's is shared with other suites).
const seed = testSeed();
console.log(`faults/redis.test.ts seed=${seed} (replay with TEST_SEED=${seed})`);

const load = `2 instances; 6 devices on 2 jobs (each job on both instances) every ${pace.editEveryMs} ms + 2 REST clients`;

describe('fault: Redis goes away under two instances', () => {
	let redis: OwnRedis;
	let database: FaultDatabase;
	const fleet = new ServerFleet();
	const crews: Crew[] = [];
	const proxies: TcpProxy[] = [];

	beforeAll(async () => {
		redis = await startOwnRedis();
		database = await openFaultDatabase();
	}, 60_000);

	afterAll(async () => {
		for (const crew of crews) crew.destroy();
		await fleet.stopAll();
		for (const proxy of proxies) await proxy.close();
		await database?.drop();
		await redis?.destroy();
	});

	async function twoInstances(redisUrl: string, label: string, random: () => number) {
		const env = { REDIS_URL: redisUrl, REDIS_PREFIX: `faults-${label}` };
		const servers: ServerProcess[] = [
			await fleet.start(database.urlFor(), env),
			await fleet.start(database.urlFor(), env)
		];
		const token = await login(servers[0]?.http as string, database.ownerEmail);
		const crew = new Crew(servers, {
			token,
			ownerId: database.ownerId,
			label,
			jobs: 2,
			devicesPerJob: 3,
			pushers: 2,
			random
		});
		crews.push(crew);
		return { servers, crew };
	}

	it('Redis restarted under load', async () => {
		const random = seededRandom(seed);
		const { servers, crew } = await twoInstances(redis.url, 'redis-restart', random);
		const result = await runOutage({
			scenario: 'Redis restarted',
			parameters: `redis-server killed and started again on its port; ${load}`,
			seed,
			random,
			crew,
			db: () => database.db,
			healthOf: [],
			servers,
			durationMs: 0,
			databaseLost: false,
			relayOnlyWithin: true,
			begin: async () => {
				await redis.stop();
				await redis.start();
			},
			end: async () => {}
		});
		expectSurvived(result, crew.errors, servers);
	}, 300_000);

	it(`Redis stopped for ${faultParams.outageMs / 1000} s under load`, async () => {
		const random = seededRandom(seed + 1);
		const { servers, crew } = await twoInstances(redis.url, 'redis-stop', random);
		const result = await runOutage({
			scenario: 'Redis stopped',
			parameters: `down ${faultParams.outageMs / 1000} s; ${load}`,
			seed: seed + 1,
			random,
			crew,
			db: () => database.db,
			healthOf: [],
			servers,
			durationMs: faultParams.outageMs,
			databaseLost: false,
			relayOnlyWithin: true,
			begin: () => redis.stop(),
			end: () => redis.start()
		});
		expectSurvived(result, crew.errors, servers);
	}, 400_000);

	it.each(partitionKinds.map((kind, i) => [kind.label, kind, i] as const))(
		`partition (%s) between two instances and Redis, healed after ${faultParams.partitionMs / 1000} s`,
		async (label, kind, i) => {
			const random = seededRandom(seed + 2 + i);
			const proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.port });
			proxies.push(proxy);
			const { servers, crew } = await twoInstances(
				`redis://127.0.0.1:${proxy.port}`,
				`redis-partition-${label}`,
				random
			);
			const result = await runOutage({
				scenario: `partition instances ↔ Redis (${label})`,
				parameters: `${kind.parameters} for ${faultParams.partitionMs / 1000} s, then heals; ${load}`,
				seed: seed + 2 + i,
				random,
				crew,
				db: () => database.db,
				healthOf: [],
				servers,
				durationMs: faultParams.partitionMs,
				databaseLost: false,
				relayOnlyWithin: true,
				begin: async () => proxy.setMode(kind.mode),
				end: async () => proxy.heal()
			});
			expectSurvived(result, crew.errors, servers);
		},
		300_000
	);
});
