import { mkdir, readdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { Db } from './port.ts';

/**
 * Backup and restore of the embedded PGlite database (OPS-2 in docs/server-rules.md). Postgres
 * deployments use `pg_dump` / `pg_restore` instead (README "Backup and restore").
 */

/** The PGlite instance behind a Db from `openPgliteDb`, or undefined for Postgres. */
function pgliteOf(db: Db): PGlite | undefined {
	if (db.kind !== 'pglite') return undefined;
	return (db as unknown as { pglite?: PGlite }).pglite;
}

export class BackupError extends Error {
	override readonly name = 'BackupError';
	constructor(
		readonly code: 'not_pglite' | 'target_not_empty',
		message: string
	) {
		super(message);
	}
}

/**
 * A gzip'd tar of the data directory, safe while the server runs: taken inside PGlite's transaction
 * lock (no other transaction is between statements) right after a CHECKPOINT, and `dumpDataDir`
 * itself runs under PGlite's query lock, so no statement writes while the files are read. What
 * the tar holds is a checkpointed, committed state — the same a clean shutdown would leave.
 */
export async function dumpPgliteBackup(db: Db): Promise<Uint8Array> {
	const pglite = pgliteOf(db);
	if (!pglite)
		throw new BackupError(
			'not_pglite',
			'this server runs on Postgres: back it up with pg_dump (README "Backup and restore")'
		);
	const blob = await pglite.transaction(async (tx) => {
		await tx.exec('CHECKPOINT');
		return pglite.dumpDataDir('gzip');
	});
	return new Uint8Array(await blob.arrayBuffer());
}

/**
 * Restores a `dumpPgliteBackup` tar into `dataDir`, which must not exist or be empty (a restore
 * never overwrites a database). The server must not be running on `dataDir`.
 */
export async function restorePgliteBackup(backup: Uint8Array, dataDir: string): Promise<void> {
	await mkdir(dataDir, { recursive: true });
	if ((await readdir(dataDir)).length > 0)
		throw new BackupError('target_not_empty', `${dataDir} is not empty: restore into a new directory`);
	const pglite = await PGlite.create({ dataDir, loadDataDir: new Blob([backup as BlobPart]) });
	try {
		await pglite.query('SELECT 1');
	} finally {
		await pglite.close();
	}
}
