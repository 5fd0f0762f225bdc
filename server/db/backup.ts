import { mkdir, readdir } from 'node:fs/promises';
import type { PGlite } from '@electric-sql/pglite';
import type { Db } from './port.ts';

/**
 * Backup and restore of the embedded PGlite database (OPS-2 in docs/server-rules.md). Postgres
 * deployments use `pg_dump` / `pg_restore` instead (README "Backup and restore").
 */

/** Runs `work` on the PGlite instance behind a Db from `openPgliteDb`; undefined for Postgres. */
function withPglite(db: Db): (<T>(work: (pglite: PGlite) => Promise<T>) => Promise<T>) | undefined {
	if (db.kind !== 'pglite') return undefined;
	const adapter = db as unknown as { exclusive?<T>(work: (pglite: PGlite) => Promise<T>): Promise<T> };
	return adapter.exclusive?.bind(adapter);
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
 * A gzip'd tar of the data directory, safe while the server runs: taken under the adapter's
 * one-call-at-a-time lock (no other statement or transaction runs in between) right after a
 * CHECKPOINT, so no statement writes while the files are read. What the tar holds is a
 * checkpointed, committed state — the same a clean shutdown would leave. Through the adapter, not
 * `pglite.transaction()`, so a CHECKPOINT failing on a full disk gives the instance up and reopens
 * it (server/db/pglite.ts) instead of leaving it to answer later commits wrongly.
 */
export async function dumpPgliteBackup(db: Db): Promise<Uint8Array> {
	const exclusive = withPglite(db);
	if (!exclusive)
		throw new BackupError(
			'not_pglite',
			'this server runs on Postgres: back it up with pg_dump (README "Backup and restore")'
		);
	const blob = await exclusive(async (pglite) => {
		await pglite.exec('CHECKPOINT');
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
	// Imported here, not at the top: http/ imports this module, and a Postgres server never needs PGlite.
	const { PGlite } = await import('@electric-sql/pglite');
	const pglite = await PGlite.create({ dataDir, loadDataDir: new Blob([backup as BlobPart]) });
	try {
		await pglite.query('SELECT 1');
	} finally {
		await pglite.close();
	}
}
