import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../tests/support/wait.ts';
import { describeDbContract } from './contract.ts';
import { isConnectionError, openPgDb } from './pg.ts';
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

	it('a connection dropped between two queries of a transaction fails that transaction, not the process', async () => {
		// pg emits 'error' on a checked-out client whose socket fails; unheard, that is an uncaught
		// exception (it killed the server in the fault suite's partition to Postgres).
		const test = await openTestPgDb();
		try {
			const transaction = test.db.transaction(async (tx) => {
				const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
				const pid = rows[0]?.pid;
				await test.db.query('SELECT pg_terminate_backend($1)', [pid]);
				await waitUntil(
					async () => {
						const left = await test.db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
						return left.rows.length === 0;
					},
					{ what: 'the backend to be gone' }
				);
				await tx.query('SELECT 1');
			});
			// A connection failure, typed so HTTP answers 503 and callers retry.
			await expect(transaction).rejects.toMatchObject({ name: 'DbError', code: 'UNAVAILABLE' });
			expect((await test.db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
		} finally {
			await test.dropSchema();
		}
	});

	it('tells a database that is away from a statement it refused', async () => {
		const sqlError = (code: string) => Object.assign(new Error('x'), { code });
		for (const away of ['ECONNRESET', 'ECONNREFUSED', '08006', '57P01', '57P03', '53300']) {
			expect(isConnectionError(sqlError(away)), away).toBe(true);
		}
		expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
		expect(isConnectionError(new Error('Query read timeout'))).toBe(true);
		for (const refused of ['23505', '42P01', '40001', '22P02']) {
			expect(isConnectionError(sqlError(refused)), refused).toBe(false);
		}
		const test = await openTestPgDb();
		try {
			await expect(test.db.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
		} finally {
			await test.dropSchema();
		}
	});
});
