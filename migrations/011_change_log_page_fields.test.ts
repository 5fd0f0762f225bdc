import { describe, expect, it } from 'vitest';
import type { Db } from '../server/db/port.ts';
import type { TestDbKind } from '../server/testing/app.ts';
import { migratedDbPerTest } from '../server/testing/per-test-db.ts';

/**
 * Migration 011 stores with each change_log row what a pull page used to read out of its jsonb: the
 * page (server/sync/change-feed.ts) now trusts these columns, so each is checked against the rule
 * it replaces, on both engines, for rows written the way the app writes them (the tables'
 * triggers) and the way the job-assignment reveal writes them (straight into change_log).
 */
const MATERIAL_ID = '00000000-0000-4000-8000-0000000000d1';
const JOB_ID = '00000000-0000-4000-8000-0000000000b1';

interface PageFields {
	operation: string;
	deletion: boolean;
	updated_at_json: string | null;
}

describe.each<TestDbKind>(['pg', 'pglite'])(
	'migration 011: page fields stored with each change_log row (%s)',
	(kind) => {
		const open = migratedDbPerTest(kind);

		async function fields(db: Db): Promise<PageFields[]> {
			const { rows } = await db.query<PageFields>(
				'SELECT operation, deletion, updated_at_json FROM change_log ORDER BY seq'
			);
			return rows;
		}

		it('marks a DELETE and `deleted: true` (only the boolean) as deletions, from the table triggers', async () => {
			const db = await open();
			const write = (data: unknown) =>
				db.query(
					`INSERT INTO materials AS t (id, job_id, data, version, state_vector)
				 VALUES ($1, $2, $3, 1, '\\x00'::bytea)
				 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, version = t.version + 1`,
					[MATERIAL_ID, JOB_ID, JSON.stringify(data)]
				);
			await write({ name: 'nails', updatedAt: 1764770000123 });
			await write({ name: 'nails', deleted: 'true', updatedAt: '2026-12-03' });
			await write({ name: 'nails', deleted: true, updatedAt: 1.5e12 });
			await db.query('DELETE FROM materials WHERE id = $1', [MATERIAL_ID]);
			expect(await fields(db)).toEqual([
				{ operation: 'INSERT', deletion: false, updated_at_json: '1764770000123' },
				{ operation: 'UPDATE', deletion: false, updated_at_json: null },
				{ operation: 'UPDATE', deletion: true, updated_at_json: '1500000000000' },
				{ operation: 'DELETE', deletion: true, updated_at_json: '1500000000000' }
			]);
		});

		it('computes them for rows written straight into change_log, odd data included', async () => {
			const db = await open();
			for (const data of ['null', '[1,2]', '"text"', '{}', '{"deleted": false, "updatedAt": 0}']) {
				await db.query(
					`INSERT INTO change_log (entity_type, entity_id, operation, version, data)
				 VALUES ('material', $1, 'REVEAL', 1, $2::jsonb)`,
					[MATERIAL_ID, data]
				);
			}
			expect(await fields(db)).toEqual([
				{ operation: 'REVEAL', deletion: false, updated_at_json: null },
				{ operation: 'REVEAL', deletion: false, updated_at_json: null },
				{ operation: 'REVEAL', deletion: false, updated_at_json: null },
				{ operation: 'REVEAL', deletion: false, updated_at_json: null },
				{ operation: 'REVEAL', deletion: false, updated_at_json: '0' }
			]);
		});

		it('refuses a value written by hand: the columns are computed by the database only', async () => {
			const db = await open();
			await expect(
				db.query(
					`INSERT INTO change_log (entity_type, entity_id, operation, version, data, deletion)
				 VALUES ('material', $1, 'INSERT', 1, '{}', true)`,
					[MATERIAL_ID]
				)
			).rejects.toThrow(/non-DEFAULT value into column "deletion"/);
		});
	}
);
