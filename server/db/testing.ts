import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPgDb } from './pg.ts';
import { openPgliteDb } from './pglite.ts';
import type { Db } from './port.ts';

/** The Postgres integration tests use; CI sets `TEST_DATABASE_URL`, the machines here run one locally. */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestPgDb {
	db: Db;
	/** The random schema this suite works in. */
	schema: string;
	/** Closes `db` and drops the schema with everything in it. Call in `afterAll`. */
	dropSchema(): Promise<void>;
}

/**
 * A pg adapter isolated in a fresh random schema, so suites can run in parallel on one database.
 * Rejects (the suite FAILS, it does not skip) when Postgres is unreachable.
 */
export async function openTestPgDb(options: { max?: number } = {}): Promise<TestPgDb> {
	const schema = `test_${randomBytes(6).toString('hex')}`;
	const db = await openPgDb({ connectionString: testDatabaseUrl, schema, ...options });
	return {
		db,
		schema,
		async dropSchema() {
			await db.close();
			const client = new pg.Client({ connectionString: testDatabaseUrl });
			await client.connect();
			try {
				await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
			} finally {
				await client.end();
			}
		}
	};
}

/** A second adapter on an existing test schema, to play a second server instance. */
export function openPgDbOnSchema(schema: string, options: { max?: number } = {}): Promise<Db> {
	return openPgDb({ connectionString: testDatabaseUrl, schema, ...options });
}

/** An in-memory PGlite adapter (gone on close). */
export function openTestPgliteDb(): Promise<Db> {
	return openPgliteDb();
}
