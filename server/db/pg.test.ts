import { describe, expect, it } from 'vitest';
import { describeDbContract } from './contract.ts';
import { openPgDb } from './pg.ts';
import { openTestPgDb, testDatabaseUrl } from './testing.ts';

// Real Postgres: TEST_DATABASE_URL or the local one. Unreachable → these tests FAIL (never skip).
describeDbContract('pg', async () => {
	const test = await openTestPgDb();
	return { db: test.db, dispose: () => test.dropSchema() };
});

describe('openPgDb', () => {
	it('rejects a schema name that is not a plain identifier', async () => {
		await expect(openPgDb({ connectionString: testDatabaseUrl, schema: 'x"; DROP' })).rejects.toMatchObject({
			code: 'BAD_SCHEMA'
		});
	});

	it('fails with CONNECT_FAILED when the database is unreachable', async () => {
		await expect(
			openPgDb({ connectionString: 'postgres://postgres@127.0.0.1:1/none' })
		).rejects.toMatchObject({
			code: 'CONNECT_FAILED'
		});
	});

	it('works inside its schema: tables land there and nowhere else', async () => {
		const test = await openTestPgDb();
		try {
			await test.db.query('CREATE TABLE here (x int)');
			const { rows } = await test.db.query<{ schema: string }>(
				"SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'here'"
			);
			expect(rows).toEqual([{ schema: test.schema }]);
		} finally {
			await test.dropSchema();
		}
	});
});
