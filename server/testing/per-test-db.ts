import { afterEach } from 'vitest';
import type { Db } from '../db/port.ts';
import { openMigratedTestDb, type TestDbKind } from './app.ts';

/**
 * For a `describe` whose tests each want their own fresh migrated database: returns `open`, which a
 * test calls to get one; it is dropped after that test. Vitest only (it registers an `afterEach`).
 */
export function migratedDbPerTest(kind: TestDbKind): () => Promise<Db> {
	let drop: (() => Promise<void>) | undefined;
	afterEach(async () => {
		await drop?.();
		drop = undefined;
	});
	return async () => {
		const opened = await openMigratedTestDb(kind);
		drop = opened.drop;
		return opened.db;
	};
}
