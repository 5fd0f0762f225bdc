import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMaintenance } from './maintenance.ts';
import type { Db } from './port.ts';
import { openTestPgliteDb } from './testing.ts';

describe('embedded database upkeep (PGlite, which has no autovacuum)', () => {
	let db: Db;
	beforeEach(async () => {
		db = await openTestPgliteDb();
		await db.query('CREATE TABLE churned (id serial PRIMARY KEY, payload text)');
		await db.query('CREATE TABLE quiet (id serial PRIMARY KEY, payload text)');
		await db.query(`INSERT INTO quiet (payload) SELECT 'q' FROM generate_series(1, 10)`);
	});
	afterEach(() => db.close());

	/** Inserts and deletes 5,000 rows; returns the table's heap size after. */
	async function churn(): Promise<number> {
		await db.query(`INSERT INTO churned (payload) SELECT repeat('x', 200) FROM generate_series(1, 5000)`);
		await db.query('DELETE FROM churned');
		// Counters reach pg_stat_user_tables at most once a second unless told to now.
		await db.query('SELECT pg_stat_force_next_flush()');
		const { rows } = await db.query<{ bytes: string }>("SELECT pg_relation_size('churned')::text AS bytes");
		return Number(rows[0]?.bytes);
	}

	it('vacuums the tables that churned, and only them, so their space is used again', async () => {
		const first = await churn();
		expect(await churn()).toBeGreaterThan(first * 1.8); // nothing reused without a VACUUM
		await db.query('ANALYZE quiet');
		await db.query('SELECT pg_stat_force_next_flush()');

		expect(await runMaintenance(db)).toEqual({ tables: ['churned'] });
		await db.query('SELECT pg_stat_force_next_flush()');
		expect(await runMaintenance(db)).toEqual({ tables: [] });

		const settled = await churn();
		for (let round = 0; round < 3; round++) {
			await runMaintenance(db);
			expect(await churn()).toBeLessThanOrEqual(settled);
		}
	});

	it('stops between tables when told to', async () => {
		await churn();
		await db.query(`INSERT INTO quiet (payload) SELECT 'q' FROM generate_series(1, 1000)`);
		await db.query('SELECT pg_stat_force_next_flush()');
		let asked = 0;
		const run = await runMaintenance(db, {}, () => asked++ > 0);
		expect(run.tables).toEqual(['churned']);
	});
});
