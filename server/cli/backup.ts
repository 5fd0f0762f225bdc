/**
 * `npm run backup -- <file>`: a backup of the embedded PGlite database (OPS-2).
 * - Server running: set `KHS_URL` (e.g. http://127.0.0.1:3000) and `KHS_TOKEN` (an owner's bearer
 *   token from POST /api/auth/login); the running server writes a consistent backup (GET /api/ops/backup).
 * - Server stopped: without `KHS_URL` the CLI opens `DATA_DIR` (default ./data) itself. Never do this
 *   while a server has that directory open (PGlite is single-process).
 * With `DATABASE_URL` set (Postgres) use pg_dump instead (README "Backup and restore").
 */
import { writeFile } from 'node:fs/promises';
import { dumpPgliteBackup } from '../db/backup.ts';
import { openPgliteDb } from '../db/pglite.ts';
import { serverDefaults } from '../defaults.ts';

const file = process.argv[2];
if (!file) {
	console.error('usage: npm run backup -- <file.tar.gz>');
	process.exit(2);
}
if (process.env.DATABASE_URL && !process.env.KHS_URL) {
	console.error('DATABASE_URL is set: back Postgres up with pg_dump (README "Backup and restore")');
	process.exit(2);
}

let backup: Uint8Array;
if (process.env.KHS_URL) {
	const res = await fetch(new URL('/api/ops/backup', process.env.KHS_URL), {
		headers: { authorization: `Bearer ${process.env.KHS_TOKEN ?? ''}` }
	});
	if (res.status !== 200) {
		console.error(`backup failed: HTTP ${res.status} ${await res.text()}`);
		process.exit(1);
	}
	backup = new Uint8Array(await res.arrayBuffer());
} else {
	const db = await openPgliteDb({ dataDir: process.env.DATA_DIR || serverDefaults.dataDir });
	try {
		backup = await dumpPgliteBackup(db);
	} finally {
		await db.close();
	}
}
await writeFile(file, backup);
console.log(`backup written: ${file} (${backup.byteLength} bytes)`);
