import { describe, expect, it } from 'vitest';
import type { Db } from '../server/db/port.ts';
import type { TestDbKind } from '../server/testing/app.ts';
import { migratedDbPerTest } from '../server/testing/per-test-db.ts';

/**
 * Migration 010 writes `change_log` from statement triggers' transition tables. The feed depends on
 * every row change having its change_log row with that row's fields, so each table and each event
 * is checked, including the projection's shape: an `INSERT … ON CONFLICT DO UPDATE … WHERE` that
 * inserts some rows, updates others and leaves unchanged ones alone, in one statement.
 */
const JOB_ID = '00000000-0000-4000-8000-0000000000b1';
const CUSTOMER_ID = '00000000-0000-4000-8000-0000000000c1';
const MATERIAL_IDS = ['00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000d2'];
const SV = Uint8Array.of(1, 2, 3);

interface LogRow {
	entity_type: string;
	entity_id: string;
	operation: string;
	user_id: string | null;
	version: number;
	data: unknown;
	state_vector: Uint8Array | null;
	job_id: string | null;
}

async function logSince(db: Db, seq: number): Promise<LogRow[]> {
	const { rows } = await db.query<LogRow>(
		`SELECT entity_type, entity_id::text, operation, user_id, version, data, state_vector, job_id::text
		 FROM change_log WHERE seq > $1 ORDER BY seq`,
		[seq]
	);
	return rows.map((r) => ({ ...r, state_vector: r.state_vector && Uint8Array.from(r.state_vector) }));
}

async function lastSeq(db: Db): Promise<number> {
	const { rows } = await db.query<{ seq: string | null }>('SELECT max(seq)::text AS seq FROM change_log');
	return Number(rows[0]?.seq ?? 0);
}

/** The projection's upsert shape (server/projection/write.ts): only rows whose data differs are updated. */
function upsertMaterials(db: Db, quantities: number[], version = 1): Promise<unknown> {
	return db.query(
		`INSERT INTO materials AS t (id, job_id, data, version, state_vector, changed_by, changed_by_role)
		 SELECT u.id, $3::uuid, u.data, $4, $5, 'user-1', 'WORKER'
		 FROM unnest($1::uuid[], $2::jsonb[]) AS u(id, data) ORDER BY u.id
		 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, version = t.version + 1
		 WHERE t.data IS DISTINCT FROM EXCLUDED.data`,
		[
			MATERIAL_IDS.slice(0, quantities.length),
			quantities.map((quantity) => JSON.stringify({ quantity })),
			JOB_ID,
			version,
			SV
		]
	);
}

describe.each<TestDbKind>(['pg', 'pglite'])('migration 010: change_log per statement (%s)', (kind) => {
	const open = migratedDbPerTest(kind);

	it('logs every inserted, updated and deleted row of each table with its own fields', async () => {
		const db = await open();
		const start = await lastSeq(db);
		await db.query(
			`INSERT INTO customers (id, data, version, state_vector, changed_by, changed_by_role)
			 VALUES ($1, '{"name":"Ada"}', 1, $2, 'owner-1', 'OWNER')`,
			[CUSTOMER_ID, SV]
		);
		await db.query(
			`INSERT INTO jobs (id, data, version, state_vector, changed_by, changed_by_role, customer_id)
			 VALUES ($1, '{"title":"Roof"}', 1, $2, 'owner-1', 'OWNER', $3)`,
			[JOB_ID, SV, CUSTOMER_ID]
		);
		await db.query(
			`UPDATE jobs SET data = '{"title":"Roof 2"}', version = 2, changed_by = 'owner-2' WHERE id = $1`,
			[JOB_ID]
		);
		await db.query('DELETE FROM customers WHERE id = $1', [CUSTOMER_ID]);
		const rows = await logSince(db, start);
		expect(rows).toEqual([
			{
				entity_type: 'customer',
				entity_id: CUSTOMER_ID,
				operation: 'INSERT',
				user_id: 'owner-1',
				version: 1,
				data: { name: 'Ada' },
				state_vector: SV,
				job_id: null
			},
			{
				entity_type: 'job',
				entity_id: JOB_ID,
				operation: 'INSERT',
				user_id: 'owner-1',
				version: 1,
				data: { title: 'Roof' },
				state_vector: SV,
				job_id: JOB_ID
			},
			{
				entity_type: 'job',
				entity_id: JOB_ID,
				operation: 'UPDATE',
				user_id: 'owner-2',
				version: 2,
				data: { title: 'Roof 2' },
				state_vector: SV,
				job_id: JOB_ID
			},
			{
				entity_type: 'customer',
				entity_id: CUSTOMER_ID,
				operation: 'DELETE',
				user_id: 'owner-1',
				version: 1,
				data: { name: 'Ada' },
				state_vector: SV,
				job_id: null
			}
		]);
	});

	it('an upsert logs the rows it inserted and updated, none it left alone, each with its job', async () => {
		const db = await open();
		await upsertMaterials(db, [1]);
		const start = await lastSeq(db);
		// d1 unchanged (no row), d2 inserted — then d1 changed, d2 unchanged.
		await upsertMaterials(db, [1, 5]);
		await upsertMaterials(db, [2, 5]);
		const rows = await logSince(db, start);
		expect(rows.map((r) => [r.entity_type, r.entity_id, r.operation, r.version, r.data, r.job_id])).toEqual([
			['material', MATERIAL_IDS[1], 'INSERT', 1, { quantity: 5 }, JOB_ID],
			['material', MATERIAL_IDS[0], 'UPDATE', 2, { quantity: 2 }, JOB_ID]
		]);
	});

	it('a statement that changes nothing logs nothing; a rolled-back one leaves no row', async () => {
		const db = await open();
		await upsertMaterials(db, [1, 2]);
		const start = await lastSeq(db);
		await upsertMaterials(db, [1, 2]);
		await db.query(`UPDATE materials SET version = version WHERE false`);
		await expect(
			db.transaction(async (tx) => {
				await tx.query(`UPDATE materials SET data = '{"quantity":9}'`);
				throw new Error('roll back');
			})
		).rejects.toThrow('roll back');
		expect(await logSince(db, start)).toEqual([]);
	});
});
