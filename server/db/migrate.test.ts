import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from './migrate.ts';
import { openPgDbOnSchema, openTestPgDb, openTestPgliteDb, type TestPgDb } from './testing.ts';

let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'khs-migrations-'));
	// Each migration fails if it runs twice (CREATE TABLE without IF NOT EXISTS, a plain INSERT
	// into a primary key): "exactly once" is then checked by the database itself.
	await writeFile(
		join(dir, '001_first.sql'),
		'CREATE TABLE first (id int PRIMARY KEY); INSERT INTO first VALUES (1);'
	);
	await writeFile(join(dir, '002_second.sql'), 'CREATE TABLE second (id int PRIMARY KEY);');
	await writeFile(join(dir, '010_third.sql'), 'INSERT INTO first VALUES (10);');
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe('loadMigrations', () => {
	it('orders by number and rejects bad names and duplicate numbers', async () => {
		expect((await loadMigrations(dir)).map((m) => m.name)).toEqual([
			'001_first.sql',
			'002_second.sql',
			'010_third.sql'
		]);
		const bad = await mkdtemp(join(tmpdir(), 'khs-bad-'));
		try {
			await writeFile(join(bad, 'first.sql'), 'SELECT 1');
			await expect(loadMigrations(bad)).rejects.toMatchObject({ code: 'MIGRATION_INVALID' });
			await rm(join(bad, 'first.sql'));
			await writeFile(join(bad, '001_a.sql'), 'SELECT 1');
			await writeFile(join(bad, '001_b.sql'), 'SELECT 1');
			await expect(loadMigrations(bad)).rejects.toMatchObject({ code: 'MIGRATION_INVALID' });
		} finally {
			await rm(bad, { recursive: true, force: true });
		}
	});

	it('the repository migrations load', async () => {
		const names = (await loadMigrations()).map((m) => m.name);
		expect(names).toContain('001_documents.sql');
	});
});

describe('migrate on real Postgres', () => {
	let test: TestPgDb;
	beforeAll(async () => {
		test = await openTestPgDb();
	});
	afterAll(async () => {
		await test?.dropSchema();
	});

	it('two runners started together apply each migration exactly once', async () => {
		const other = await openPgDbOnSchema(test.schema);
		try {
			const [a, b] = await Promise.all([migrate(test.db, { dir }), migrate(other, { dir })]);
			expect([...a.applied, ...b.applied].sort()).toEqual([
				'001_first.sql',
				'002_second.sql',
				'010_third.sql'
			]);
			const { rows } = await test.db.query<{ id: number }>('SELECT id FROM first ORDER BY id');
			expect(rows).toEqual([{ id: 1 }, { id: 10 }]);
			const recorded = await test.db.query<{ version: number }>(
				'SELECT version FROM schema_migrations ORDER BY 1'
			);
			expect(recorded.rows).toEqual([{ version: 1 }, { version: 2 }, { version: 10 }]);
			expect((await migrate(other, { dir })).applied).toEqual([]);
		} finally {
			await other.close();
		}
	});

	it('refuses a migration edited after it was applied', async () => {
		const edited = await mkdtemp(join(tmpdir(), 'khs-edited-'));
		try {
			await writeFile(join(edited, '001_first.sql'), 'CREATE TABLE first (id int PRIMARY KEY, extra int);');
			await expect(migrate(test.db, { dir: edited })).rejects.toMatchObject({ code: 'MIGRATION_INVALID' });
		} finally {
			await rm(edited, { recursive: true, force: true });
		}
	});
});

describe('migrate on PGlite', () => {
	it('applies the repository migrations once, rolls back a failing one whole', async () => {
		const db = await openTestPgliteDb();
		try {
			const first = await migrate(db);
			expect(first.applied).toContain('001_documents.sql');
			expect((await migrate(db)).applied).toEqual([]);
			const broken = await mkdtemp(join(tmpdir(), 'khs-broken-'));
			try {
				await writeFile(join(broken, '900_broken.sql'), 'CREATE TABLE half (x int); SELECT * FROM nope;');
				await expect(migrate(db, { dir: broken })).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
				const { rows } = await db.query("SELECT to_regclass('half') AS t");
				expect(rows).toEqual([{ t: null }]);
			} finally {
				await rm(broken, { recursive: true, force: true });
			}
		} finally {
			await db.close();
		}
	});
});
