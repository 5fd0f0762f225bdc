/**
 * `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded PGlite database
 * under DATA_DIR (default ./data) when DATABASE_URL is unset. Exit code 1 on failure.
 * Do not run it against a PGlite directory a running server has open (PGlite is single-process).
 */
import pino from 'pino';
import { migrate } from '../db/migrate.ts';
import { openDb } from '../db/open.ts';

const logger = pino({ name: 'migrate' });
const db = await openDb({ databaseUrl: process.env.DATABASE_URL, dataDir: process.env.DATA_DIR });
try {
	const { applied } = await migrate(db, { logger });
	logger.info({ applied, database: db.kind }, applied.length ? 'migrations applied' : 'database up to date');
} catch (error) {
	logger.error({ err: error }, 'migration failed');
	process.exitCode = 1;
} finally {
	await db.close();
}
