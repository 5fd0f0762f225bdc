import type { Logger } from 'pino';
import type { Db } from './port.ts';

/** Defaults of database selection. */
export const openDbDefaults = {
	/** Where the embedded database lives when no `DATABASE_URL` is given. */
	dataDir: './data'
} as const;

export interface OpenDbOptions {
	/** Postgres connection string; when set, Postgres through `pg` is used. */
	databaseUrl?: string | undefined;
	/** PGlite directory when `databaseUrl` is unset; default `./data`, created on first start. */
	dataDir?: string | undefined;
	/** pg only: schema to work in (created if missing). */
	schema?: string | undefined;
	/** PGlite only: where it logs losing and reopening its instance (a full disk, see pglite.ts). */
	logger?: Pick<Logger, 'info' | 'warn' | 'error'> | undefined;
}

/**
 * Opens the configured database: Postgres when `databaseUrl` is set (non-empty), else embedded
 * PGlite under `dataDir`, so `npm start` works on a bare machine (docs/architecture.md "Storage"). The adapters are
 * imported lazily so a pg deployment never loads the PGlite WASM and vice versa.
 */
export async function openDb(options: OpenDbOptions = {}): Promise<Db> {
	if (options.databaseUrl) {
		const { openPgDb } = await import('./pg.ts');
		return openPgDb({
			connectionString: options.databaseUrl,
			...(options.schema === undefined ? {} : { schema: options.schema })
		});
	}
	const { openPgliteDb, loggedPgliteEvents } = await import('./pglite.ts');
	return openPgliteDb({
		dataDir: options.dataDir ?? openDbDefaults.dataDir,
		...(options.logger ? { events: loggedPgliteEvents(options.logger) } : {})
	});
}
