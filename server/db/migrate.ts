import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DbError } from './errors.ts';
import type { Db, Tx } from './port.ts';

/** Defaults of the migration runner. */
export const migrateDefaults = {
	/** The repository's `migrations/` folder. */
	dir: fileURLToPath(new URL('../../migrations/', import.meta.url))
} as const;

/** One `migrations/NNN_name.sql` or `NNN_name.ts` file. */
export interface Migration {
	/** The NNN prefix; migrations apply in ascending order, each exactly once. */
	version: number;
	/** The file name, e.g. `001_documents.sql`. */
	name: string;
	/** Runs the migration inside its transaction (the SQL file, or a `.ts` file's `up`). */
	run(tx: Tx): Promise<void>;
	/** sha256 of the file, recorded when applied; an applied file must never change. */
	checksum: string;
}

/**
 * A data migration: `migrations/NNN_name.ts` exporting `up`, for a step SQL cannot express (moving
 * fields between Yjs documents). It runs like a SQL file: in order, once, in one transaction with its
 * record, under the migration lock — so it must do all its work through `tx`.
 */
export interface DataMigrationModule {
	up(tx: Tx): Promise<void>;
}

/** Structured logger shape (pino's `info`/`warn` fit). */
export interface MigrateLogger {
	info(fields: object, message: string): void;
	warn(fields: object, message: string): void;
}

export interface MigrateOptions {
	/** Folder of `NNN_name.sql` files; default the repository's `migrations/`. */
	dir?: string;
	logger?: MigrateLogger;
}

export interface MigrateResult {
	/** File names applied by this run, in order (empty when the database was up to date). */
	applied: string[];
}

const FILE_NAME = /^(\d{3,})_[a-z0-9_]+\.(sql|ts)$/;

const isMigrationFile = (name: string) =>
	name.endsWith('.sql') || (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts'));

/** Reads and validates the migration files, sorted by version. */
export async function loadMigrations(dir: string = migrateDefaults.dir): Promise<Migration[]> {
	const names = (await readdir(dir)).filter(isMigrationFile).sort();
	const migrations: Migration[] = [];
	for (const name of names) {
		const match = FILE_NAME.exec(name);
		if (!match?.[1])
			throw new DbError('MIGRATION_INVALID', `migration file name must be NNN_name.sql or .ts: ${name}`);
		const version = Number(match[1]);
		const clash = migrations.find((m) => m.version === version);
		if (clash)
			throw new DbError('MIGRATION_INVALID', `two migrations numbered ${version}: ${clash.name}, ${name}`);
		const path = `${dir}/${name}`;
		const source = await readFile(path, 'utf8');
		const run = name.endsWith('.sql')
			? async (tx: Tx) => {
					await tx.query(source);
				}
			: async (tx: Tx) => {
					const module = (await import(pathToFileURL(path).href)) as Partial<DataMigrationModule>;
					if (typeof module.up !== 'function') throw new Error(`${name} exports no up(tx)`);
					await module.up(tx);
				};
		migrations.push({ version, name, run, checksum: createHash('sha256').update(source).digest('hex') });
	}
	return migrations.sort((a, b) => a.version - b.version);
}

/**
 * Serializes migration runners across processes: a transaction-scoped advisory lock (released by
 * COMMIT/ROLLBACK, so a crashed runner never leaves it held). Keyed by schema, so test suites in
 * different schemas do not wait for each other. PGlite is single-process; the lock is harmless there.
 */
async function lock(tx: Tx): Promise<void> {
	await tx.query("SELECT pg_advisory_xact_lock(hashtext('khs:migrate:' || current_schema()))");
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, in order, each in its own
 * transaction together with its record, so a failure leaves it wholly unapplied. Safe when several
 * instances start at once: each migration's check-then-apply runs under the advisory lock, so the
 * second runner waits and then sees it recorded. An applied migration whose file changed is an
 * error (`MIGRATION_INVALID`): add a new migration instead of editing an applied one.
 */
export async function migrate(db: Db, options: MigrateOptions = {}): Promise<MigrateResult> {
	const migrations = await loadMigrations(options.dir);
	// CREATE TABLE IF NOT EXISTS is not safe under concurrency in Postgres (both can pass the check
	// and one fails on the catalog's unique index), hence the lock here too.
	await db.transaction(async (tx) => {
		await lock(tx);
		await tx.query(
			'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, ' +
				'checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())'
		);
	});
	const applied: string[] = [];
	for (const migration of migrations) {
		const didApply = await db.transaction(async (tx) => {
			await lock(tx);
			const { rows } = await tx.query<{ checksum: string }>(
				'SELECT checksum FROM schema_migrations WHERE version = $1',
				[migration.version]
			);
			const recorded = rows[0];
			if (recorded) {
				if (recorded.checksum !== migration.checksum) {
					throw new DbError(
						'MIGRATION_INVALID',
						`${migration.name} changed after it was applied; add a new migration instead`
					);
				}
				return false;
			}
			try {
				await migration.run(tx);
			} catch (error) {
				throw new DbError('MIGRATION_FAILED', `${migration.name}: ${(error as Error).message}`, {
					cause: error
				});
			}
			await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
				migration.version,
				migration.name,
				migration.checksum
			]);
			return true;
		});
		if (didApply) {
			applied.push(migration.name);
			options.logger?.info({ migration: migration.name }, 'migration applied');
		}
	}
	const known = new Set(migrations.map((m) => m.version));
	const { rows } = await db.query<{ name: string; version: number }>(
		'SELECT version, name FROM schema_migrations'
	);
	const unknown = rows.filter((r) => !known.has(r.version)).map((r) => r.name);
	if (unknown.length > 0) {
		// A newer release migrated this database; running older code against it may misbehave.
		options.logger?.warn({ migrations: unknown }, 'database has migrations this build does not know');
	}
	return { applied };
}
