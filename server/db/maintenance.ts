import type { Logger } from 'pino';
import { type BackgroundPass, startBackgroundPass } from '../background-pass.ts';
import type { Db } from './port.ts';

/**
 * Upkeep of the embedded database (PGlite), which has no autovacuum: a single-user Postgres runs no
 * background workers. Without it nothing a DELETE or an UPDATE leaves behind is ever reused — the
 * update log compaction deletes, retention's deletes, every projection upsert — so the data folder
 * grows with every edit ever made (measured: 5 rounds of 20,000 inserts and deletes grew a table's
 * heap from 4.8 to 24 MB; one VACUUM and it stayed at 4.8), and Postgres never gets statistics to
 * plan with. Postgres proper runs autovacuum; this is for PGlite only.
 *
 * Autovacuum's rule, per table, from PGlite's own counters: vacuum and analyze a table once its
 * dead rows or its changes since the last analyze pass a threshold. One table at a time, because
 * PGlite runs in this process and a VACUUM holds the event loop — every socket — while it runs
 * (measured on the update log: 10–20 ms for 5,000 dead rows, 100 ms for 200,000; a whole-database
 * VACUUM ANALYZE 223 ms, so never that).
 */
export interface MaintenanceSettings {
	/** How often the counters are read (autovacuum's default naptime). */
	intervalMs: number;
	/** A table is due when its dead rows exceed this many plus `deadFraction` of its live rows. */
	deadRowsBase: number;
	deadFraction: number;
	/** …or its rows changed since the last analyze exceed this many plus `changedFraction` of its live rows. */
	changedRowsBase: number;
	changedFraction: number;
}

/** Autovacuum's own defaults (vacuum 50 + 20 %, analyze 50 + 10 %), at its default naptime. */
export const maintenanceDefaults: Readonly<MaintenanceSettings> = {
	intervalMs: 60_000,
	deadRowsBase: 50,
	deadFraction: 0.2,
	changedRowsBase: 50,
	changedFraction: 0.1
};

const DUE_TABLES_SQL = `
	SELECT schemaname AS schema, relname AS name FROM pg_stat_user_tables
	WHERE schemaname = current_schema()
	  AND (n_dead_tup > $1::float8 + $2::float8 * n_live_tup
	       OR n_mod_since_analyze > $3::float8 + $4::float8 * n_live_tup)
	ORDER BY relname`;

export interface MaintenanceRun {
	/** The tables vacuumed and analyzed, in order. */
	tables: string[];
}

/** The embedded database's upkeep in the background: `runNow` for tests and operators. */
export type MaintenanceWorker = BackgroundPass<MaintenanceRun>;

const quoted = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** One pass: `VACUUM (ANALYZE)` of each due table, yielding to the event loop between tables. */
export async function runMaintenance(
	db: Db,
	settings: Partial<MaintenanceSettings> = {},
	shouldStop: () => boolean = () => false
): Promise<MaintenanceRun> {
	const s = { ...maintenanceDefaults, ...settings };
	const { rows } = await db.query<{ schema: string; name: string }>(DUE_TABLES_SQL, [
		s.deadRowsBase,
		s.deadFraction,
		s.changedRowsBase,
		s.changedFraction
	]);
	const run: MaintenanceRun = { tables: [] };
	for (const table of rows) {
		if (shouldStop()) break;
		await db.query(`VACUUM (ANALYZE) ${quoted(table.schema)}.${quoted(table.name)}`);
		run.tables.push(table.name);
		await new Promise<void>((resolve) => setImmediate(resolve));
	}
	return run;
}

/** Runs `runMaintenance` every `intervalMs` in the background. */
export function startMaintenance(options: {
	db: Db;
	logger: Pick<Logger, 'debug' | 'warn'>;
	settings?: Partial<MaintenanceSettings> | undefined;
}): MaintenanceWorker {
	const settings = { ...maintenanceDefaults, ...options.settings };
	return startBackgroundPass({
		intervalMs: settings.intervalMs,
		run: (_now, shouldStop) => runMaintenance(options.db, settings, shouldStop),
		onDone: (run) => {
			if (run.tables.length > 0) options.logger.debug(run, 'embedded database vacuumed');
		},
		// The database may be down (disk full, reopening): the next pass tries again.
		onError: (err) => options.logger.warn({ err }, 'embedded database upkeep failed')
	});
}
