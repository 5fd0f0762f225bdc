import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDbContract } from './contract.ts';
import { openDb } from './open.ts';
import { openTestPgliteDb } from './testing.ts';

describeDbContract('pglite (in-memory)', async () => {
	const db = await openTestPgliteDb();
	return { db, dispose: () => db.close() };
});

describe('openDb without a database URL', () => {
	it('creates a PGlite database under dataDir on first start and reuses it after', async () => {
		const dir = await mkdtemp(join(tmpdir(), 'khs-db-'));
		const dataDir = join(dir, 'nested', 'data');
		try {
			const first = await openDb({ dataDir });
			expect(first.kind).toBe('pglite');
			await first.query('CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)');
			await first.close();
			const second = await openDb({ dataDir, databaseUrl: '' });
			const { rows } = await second.query('SELECT x FROM kept');
			expect(rows).toEqual([{ x: 7 }]);
			await second.close();
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
});
