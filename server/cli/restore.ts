/**
 * `npm run restore -- <file>`: restores a `npm run backup` file into `DATA_DIR` (default ./data)
 * with the server stopped (OPS-2). The directory must not exist or be empty; `--force` first moves
 * an existing one aside to `<DATA_DIR>.before-restore-<time>` (never deleted). Then start the server.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rename } from 'node:fs/promises';
import { restorePgliteBackup } from '../db/backup.ts';
import { serverDefaults } from '../defaults.ts';

const args = process.argv.slice(2);
const force = args.includes('--force');
const file = args.find((a) => a !== '--force');
if (!file) {
	console.error('usage: npm run restore -- <file.tar.gz> [--force]');
	process.exit(2);
}
const dataDir = process.env.DATA_DIR || serverDefaults.dataDir;
if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
	if (!force) {
		console.error(`${dataDir} is not empty; stop the server and pass --force to move it aside first`);
		process.exit(2);
	}
	const aside = `${dataDir}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
	await rename(dataDir, aside);
	console.log(`moved the old database to ${aside}`);
}
await restorePgliteBackup(new Uint8Array(await readFile(file)), dataDir);
console.log(`restored ${file} into ${dataDir}`);
