import { type OwnService, startThrowawayPostgres, startThrowawayRedis } from './services.ts';

/**
 * vitest globalSetup: makes `npm test` the whole set-up on a fresh machine. Given
 * `TEST_DATABASE_URL` / `TEST_REDIS_URL` (CI exports the machine's running services), it uses
 * them; for each one not given it starts a throwaway server (services.ts) for this run and stops
 * it afterwards by its PID.
 *
 * How the URLs reach the tests: globalSetup runs in vitest's main process before any worker
 * starts, and vitest 5 builds each worker's environment from the main process's `process.env` at
 * that moment (`{ ...process.env, ...config.env }`). So setting `process.env` here reaches every
 * test file, and through them every server process a test spawns with `...process.env`.
 */
export default async function setup(): Promise<() => Promise<void>> {
	const started: OwnService[] = [];
	// If vitest dies without running teardown, still signal what we started (sync, by PID).
	const onExit = () => {
		for (const service of started) {
			try {
				process.kill(service.pid, 'SIGTERM');
			} catch {
				// Already gone.
			}
		}
	};
	process.once('exit', onExit);
	const teardown = async () => {
		process.off('exit', onExit);
		await Promise.allSettled(started.map((service) => service.stop()));
	};
	const [postgres, redis] = await Promise.allSettled([
		process.env.TEST_DATABASE_URL ? undefined : startThrowawayPostgres(),
		process.env.TEST_REDIS_URL ? undefined : startThrowawayRedis()
	]);
	for (const result of [postgres, redis])
		if (result.status === 'fulfilled' && result.value) started.push(result.value);
	const failed = [postgres, redis].find((result) => result.status === 'rejected');
	if (failed) {
		await teardown();
		throw failed.reason;
	}
	const own = (result: PromiseSettledResult<OwnService | undefined>) =>
		result.status === 'fulfilled' ? result.value : undefined;
	const ownPostgres = own(postgres);
	const ownRedis = own(redis);
	if (ownPostgres) process.env.TEST_DATABASE_URL = ownPostgres.url;
	if (ownRedis) process.env.TEST_REDIS_URL = ownRedis.url;
	const say = (name: string, service: OwnService | undefined, url: string | undefined) =>
		`${name} at ${url} (${service ? `throwaway, pid ${service.pid}` : 'given'})`;
	console.log(
		`test services: ${say('Postgres', ownPostgres, process.env.TEST_DATABASE_URL)}, ${say('Redis', ownRedis, process.env.TEST_REDIS_URL)}`
	);
	return teardown;
}
