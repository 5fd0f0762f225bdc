import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbError } from './errors.ts';
import type { Db } from './port.ts';

/** What a contract run needs from an adapter factory. */
export interface ContractSubject {
	db: Db;
	/** Releases everything the factory made (closing `db` if the suite has not). */
	dispose(): Promise<void>;
}

/** A promise with its resolver, to hold one party at a known point without sleeping. */
function gate(): { promise: Promise<void>; open(): void } {
	let open = () => {};
	const promise = new Promise<void>((resolve) => {
		open = resolve;
	});
	return { promise, open };
}

/**
 * The behaviour every `Db` adapter must have. Run it from one test file per adapter.
 * `make` is called once per suite; the suite creates its own tables.
 */
export function describeDbContract(name: string, make: () => Promise<ContractSubject>): void {
	describe(`Db contract: ${name}`, () => {
		let subject: ContractSubject;
		let db: Db;

		beforeAll(async () => {
			subject = await make();
			db = subject.db;
			await db.query(
				'CREATE TABLE items (id bigserial PRIMARY KEY, label text NOT NULL, data bytea, n int8); ' +
					'CREATE TABLE counter (id int PRIMARY KEY, value int NOT NULL); INSERT INTO counter VALUES (1, 0)'
			);
		});
		afterAll(async () => {
			await subject?.dispose();
		});

		it('runs a query with $n parameters and reports rowCount', async () => {
			const inserted = await db.query('INSERT INTO items (label) VALUES ($1), ($2)', ['a', 'b']);
			expect(inserted.rowCount).toBe(2);
			const { rows } = await db.query<{ label: string }>(
				'SELECT label FROM items WHERE label = ANY($1::text[]) ORDER BY label',
				[['a', 'b', 'zzz']]
			);
			expect(rows).toEqual([{ label: 'a' }, { label: 'b' }]);
			await db.query('DELETE FROM items');
		});

		it('runs several statements when there are no parameters, returning the last result', async () => {
			const { rows } = await db.query<{ x: number }>('SELECT 1 AS x; SELECT 2 AS x');
			expect(rows).toEqual([{ x: 2 }]);
		});

		it('round-trips bytea as a plain Uint8Array, int8 as number (bigint beyond 2^53)', async () => {
			const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
			const { rows } = await db.query<{ id: unknown; data: unknown; n: unknown; big: unknown }>(
				"INSERT INTO items (label, data, n) VALUES ('bytes', $1, $2) RETURNING id, data, n, 9007199254740993::int8 AS big",
				[bytes, 42]
			);
			const row = rows[0];
			expect(row?.data).toEqual(bytes);
			expect(row?.data?.constructor).toBe(Uint8Array);
			expect(typeof row?.id).toBe('number');
			expect(row?.n).toBe(42);
			expect(row?.big).toBe(9007199254740993n);
			const empty = await db.query<{ data: Uint8Array }>('SELECT $1::bytea AS data', [new Uint8Array()]);
			expect(empty.rows[0]?.data).toEqual(new Uint8Array());
			const ids = await db.query<{ ids: unknown }>('SELECT array_agg(id) AS ids FROM items');
			expect(ids.rows[0]?.ids).toEqual([row?.id]);
			await db.query('DELETE FROM items');
		});

		it('commits a transaction and returns its value', async () => {
			const value = await db.transaction(async (tx) => {
				await tx.query('INSERT INTO items (label) VALUES ($1)', ['committed']);
				const { rows } = await tx.query<{ c: number }>('SELECT count(*)::int AS c FROM items');
				return rows[0]?.c;
			});
			expect(value).toBe(1);
			const { rows } = await db.query('SELECT label FROM items');
			expect(rows).toEqual([{ label: 'committed' }]);
			await db.query('DELETE FROM items');
		});

		it('rolls back and rethrows when the work throws', async () => {
			const boom = new Error('boom');
			await expect(
				db.transaction(async (tx) => {
					await tx.query('INSERT INTO items (label) VALUES ($1)', ['rolled back']);
					throw boom;
				})
			).rejects.toBe(boom);
			const { rows } = await db.query('SELECT * FROM items');
			expect(rows).toEqual([]);
		});

		it('rolls back when a statement fails, and the adapter stays usable', async () => {
			await expect(
				db.transaction(async (tx) => {
					await tx.query('INSERT INTO items (label) VALUES ($1)', ['x']);
					await tx.query('SELECT * FROM no_such_table');
				})
			).rejects.toThrow(/no_such_table/);
			const { rows } = await db.query('SELECT * FROM items');
			expect(rows).toEqual([]);
		});

		it('rejects a Tx used after its transaction finished', async () => {
			let leaked: { query: Db['query'] } | undefined;
			await db.transaction(async (tx) => {
				leaked = tx;
			});
			await expect(leaked?.query('SELECT 1')).rejects.toMatchObject({ code: 'TX_CLOSED' });
		});

		it('concurrent transactions do not interleave: others never see or join an open transaction', async () => {
			const inside = gate();
			const release = gate();
			const first = db.transaction(async (tx) => {
				await tx.query("INSERT INTO items (label) VALUES ('uncommitted')");
				inside.open();
				await release.promise;
				throw new Error('roll back');
			});
			await inside.promise;
			// Issued while `first` is open. On a single-connection engine they must queue behind it;
			// run inside it, they would see 'uncommitted' (and be rolled back with it).
			const second = db.transaction(async (tx) => {
				await tx.query("INSERT INTO items (label) VALUES ('second')");
				const { rows } = await tx.query<{ label: string }>('SELECT label FROM items ORDER BY label');
				return rows.map((r) => r.label);
			});
			const outside = db.query<{ label: string }>('SELECT label FROM items');
			release.open();
			await expect(first).rejects.toThrow('roll back');
			expect(await second).toEqual(['second']);
			expect((await outside).rows.map((r) => r.label)).not.toContain('uncommitted');
			const { rows } = await db.query<{ label: string }>('SELECT label FROM items');
			expect(rows).toEqual([{ label: 'second' }]);
			await db.query('DELETE FROM items');
		});

		it('many concurrent read-modify-write transactions lose no increment (row lock)', async () => {
			const n = 40;
			await Promise.all(
				Array.from({ length: n }, () =>
					db.transaction(async (tx) => {
						const { rows } = await tx.query<{ value: number }>(
							'SELECT value FROM counter WHERE id = 1 FOR UPDATE'
						);
						await tx.query('UPDATE counter SET value = $1 WHERE id = 1', [(rows[0]?.value ?? 0) + 1]);
					})
				)
			);
			const { rows } = await db.query<{ value: number }>('SELECT value FROM counter WHERE id = 1');
			expect(rows[0]?.value).toBe(n);
		});

		it('close() lets calls in flight finish, then rejects new ones with DbError CLOSED', async () => {
			const pending = db.query<{ x: number }>('SELECT 7 AS x');
			await db.close();
			expect((await pending).rows).toEqual([{ x: 7 }]);
			const error = await db.query('SELECT 1').catch((e: unknown) => e);
			expect(error).toBeInstanceOf(DbError);
			expect(error).toMatchObject({ code: 'CLOSED' });
			await expect(db.transaction(async () => 1)).rejects.toMatchObject({ code: 'CLOSED' });
			await db.close();
		});
	});
}
