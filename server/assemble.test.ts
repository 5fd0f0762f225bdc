import { describe, expect, it } from 'vitest';
import { assembleServer } from './assemble.ts';
import { silentLogger } from './logger.ts';
import { openMigratedTestDb, type TestDbKind, testAuthSecret } from './testing/app.ts';

describe('assembleServer: upkeep of the database', () => {
	it.each<[TestDbKind, boolean]>([
		['pglite', true],
		['pg', false]
	])('%s: embedded-database upkeep runs: %s (Postgres has autovacuum)', async (kind, upkeep) => {
		const { db, drop } = await openMigratedTestDb(kind);
		const assembled = await assembleServer({ db, logger: silentLogger(), authSecret: testAuthSecret });
		try {
			expect(assembled.maintenance !== null).toBe(upkeep);
			if (!assembled.maintenance) return;
			// The migrated schema's tables have never been analyzed: the first pass takes the ones with rows.
			await db.query(
				`INSERT INTO doc_updates (doc_name, payload) SELECT 'job:x', '\\x00' FROM generate_series(1, 100)`
			);
			await db.query('SELECT pg_stat_force_next_flush()');
			expect((await assembled.maintenance.runNow()).tables).toContain('doc_updates');
		} finally {
			await assembled.close();
			await drop();
		}
	});
});
