/**
 * The server process: `npm start` (via scripts/start.mjs) runs this.
 * Env: PORT (3000), HOST (0.0.0.0), DATABASE_URL (unset → PGlite in DATA_DIR, default ./data),
 * LOG_LEVEL (info), AUTH_SECRET (optional token key override), SEED_DEMO (0 disables the demo seed),
 * REDIS_URL (set → scale-out through Redis, see collab/redis.ts), REDIS_PREFIX (khs).
 */
import { assembleServer } from './assemble.ts';
import { ConfigError, readConfig } from './config.ts';
import { migrate } from './db/migrate.ts';
import { openDb } from './db/open.ts';
import { serverDefaults } from './defaults.ts';
import { createLogger } from './logger.ts';
import { loadPageHandler } from './pages.ts';
import { seedDemoDocuments, seedDemoIfEmpty } from './seed/demo.ts';
import { capYoungGeneration } from './young-generation.ts';

async function main(): Promise<void> {
	let config: ReturnType<typeof readConfig>;
	try {
		config = readConfig();
	} catch (error) {
		if (error instanceof ConfigError) {
			console.error(`khs-sync: bad configuration: ${error.message}`);
			process.exit(2);
		}
		throw error;
	}
	const logger = createLogger({ level: config.logLevel });

	const db = await openDb({
		databaseUrl: config.databaseUrl,
		dataDir: config.dataDir,
		logger: logger.child({ subsystem: 'db' })
	});
	logger.info({ db: db.kind, dataDir: db.kind === 'pglite' ? config.dataDir : undefined }, 'database open');
	const { applied } = await migrate(db, { logger });
	if (applied.length > 0) logger.info({ applied }, 'migrations applied');
	const seeded = config.seedDemo ? await seedDemoIfEmpty(db, logger) : null;

	const pages = loadPageHandler({
		onError: (err) => logger.error({ err }, 'page request failed while loading build/handler.js')
	});
	if (!pages) logger.warn('no SvelteKit build found (build/handler.js); pages answer 404');

	const server = await assembleServer({
		db,
		logger,
		authSecret: config.authSecret,
		collabLimits: config.collabLimits,
		retention: config.retention,
		metricsToken: config.metricsToken,
		pages,
		redis: config.redisUrl ? { url: config.redisUrl, prefix: config.redisPrefix } : undefined
	});
	const { app } = server;
	if (seeded) await seedDemoDocuments(app.hocuspocus, seeded, logger);
	const port = await app.listen(config.port, config.host);
	// Start-up is over (scripts/start.mjs held the young generation at its initial size until now).
	capYoungGeneration();
	logger.info({ host: config.host, port }, 'listening');

	let stopping = false;
	const stop = async (signal: string) => {
		if (stopping) {
			logger.warn({ signal }, 'second signal: exiting without finishing shutdown');
			process.exit(1);
		}
		stopping = true;
		logger.info({ signal }, 'shutting down');
		// Last resort if something hangs: the process must still end so an orchestrator can restart it.
		const hardStop = setTimeout(() => {
			logger.error('shutdown did not finish in time; exiting');
			process.exit(1);
		}, serverDefaults.shutdownTimeoutMs + 5_000);
		hardStop.unref();
		try {
			await server.close();
			await db.close();
			logger.info('stopped');
			process.exit(0);
		} catch (err) {
			logger.error({ err }, 'shutdown failed');
			process.exit(1);
		}
	};
	process.on('SIGTERM', () => void stop('SIGTERM'));
	process.on('SIGINT', () => void stop('SIGINT'));
	process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
}

main().catch((err: unknown) => {
	console.error('khs-sync: failed to start', err);
	process.exit(1);
});
