/**
 * `npm run seed:demo`: (re-)seeds the demo company into DATABASE_URL, or into the embedded PGlite
 * database under DATA_DIR. Demo documents have fixed ids, so seeding again restores the demo values
 * through the CRDT and keeps whatever users added. Runs the same server wiring as `npm start`
 * (without listening), so the projection and persistence see every write. On embedded PGlite, stop
 * the server first: PGlite is single-process.
 */
import { assembleServer } from '../assemble.ts';
import { readConfig } from '../config.ts';
import { migrate } from '../db/migrate.ts';
import { openDb } from '../db/open.ts';
import { createLogger } from '../logger.ts';
import { demoPassword, demoUsers, ensureDemoUsers, seedDemoDocuments } from '../seed/demo.ts';

const config = readConfig();
const logger = createLogger({ level: config.logLevel });
const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
try {
	await migrate(db, { logger });
	const crew = await ensureDemoUsers(db);
	const server = await assembleServer({ db, logger, authSecret: config.authSecret, pages: null });
	try {
		await seedDemoDocuments(server.app.hocuspocus, crew, logger);
	} finally {
		await server.close();
	}
	logger.info({ logins: demoUsers.map((u) => u.email), password: demoPassword }, 'demo company seeded');
} catch (error) {
	logger.error({ err: error }, 'seeding failed');
	process.exitCode = 1;
} finally {
	await db.close();
}
