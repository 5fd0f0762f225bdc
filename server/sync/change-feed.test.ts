import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '../auth/roles.ts';
import { migrate } from '../db/migrate.ts';
import type { Db, Tx } from '../db/port.ts';
import { openTestPgDb, openTestPgliteDb, type TestPgDb } from '../db/testing.ts';
import { pullChanges } from './change-feed.ts';
import { comparePositions, decodeToken, encodeToken } from './tokens.ts';
import { type EntityName, visibleData } from './visibility.ts';

const owner: AuthUser = { id: '00000000-0000-4000-8000-000000000000', name: 'o', role: 'OWNER' };

/** A transaction held open on its own connection until `commit()`. */
function openTransaction(db: Db) {
	let release!: () => void;
	const gate = new Promise<void>((resolve) => {
		release = resolve;
	});
	let ready!: (tx: Tx) => void;
	const txReady = new Promise<Tx>((resolve) => {
		ready = resolve;
	});
	const done = db.transaction(async (tx) => {
		ready(tx);
		await gate;
	});
	return {
		tx: txReady,
		async commit() {
			release();
			await done;
		}
	};
}

async function insertJob(tx: Tx, n: number): Promise<string> {
	const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
	// A projection transaction writes rows; the trigger writes change_log (txid, seq) under it.
	await tx.query(`INSERT INTO jobs (id, data, version, state_vector) VALUES ($1, $2, 1, '\\x00')`, [
		id,
		JSON.stringify({ n })
	]);
	return id;
}

/** Pages through everything pullable now; asserts no duplicates inside any single pull page. */
async function drain(db: Db, token: string | undefined, limit: number) {
	const delivered: string[] = [];
	let cursor = token;
	for (;;) {
		const page = await pullChanges(db, owner, { lastSyncToken: cursor, limit });
		const ids = page.changes.map((c) => c.entityId);
		expect(new Set(ids).size).toBe(ids.length);
		delivered.push(...ids);
		cursor = page.syncToken;
		if (!page.hasMore) return { delivered, token: cursor };
	}
}

describe('change feed is gapless (pg, transactions committed out of order on two connections)', () => {
	let t: TestPgDb;
	beforeAll(async () => {
		t = await openTestPgDb({ max: 12 });
		await migrate(t.db);
	});
	afterAll(() => t?.dropSchema());

	it('holds back a later-committed row of an older transaction, then delivers both, once', async () => {
		const { db } = t;
		const before = await drain(db, undefined, 100);
		const a = openTransaction(db);
		const b = openTransaction(db);
		// A gets the smaller seq and txid; B commits first.
		const idA = await insertJob(await a.tx, 900001);
		const idB = await insertJob(await b.tx, 900002);
		await b.commit();
		// Naive `seq > last` would deliver B now and skip A forever once A commits with a smaller seq.
		const mid = await drain(db, before.token, 100);
		expect(mid.delivered).toEqual([]);
		await a.commit();
		const after = await drain(db, mid.token, 100);
		expect(after.delivered).toEqual([idA, idB]);
		expect((await drain(db, after.token, 100)).delivered).toEqual([]);
	});

	it('random interleavings of writes, commits and paged pulls: every change exactly once', async () => {
		const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
		console.log(`change-feed property seed: ${seed} (FC_SEED=${seed} to replay)`);
		let next = 910000;
		await fc.assert(
			fc.asyncProperty(
				// Each step: 0..5 = insert into open transaction k; 6..7 = commit the oldest open; 8..9 = pull.
				fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 3 })), {
					minLength: 5,
					maxLength: 25
				}),
				fc.integer({ min: 1, max: 4 }),
				async (steps, limit) => {
					const { db } = t;
					let { token } = await drain(db, undefined, 5000);
					const open: Array<ReturnType<typeof openTransaction> & { ids: string[] }> = [];
					const committed: string[] = [];
					const delivered: string[] = [];
					const pull = async () => {
						const r = await drain(db, token, limit);
						delivered.push(...r.delivered);
						token = r.token;
					};
					for (const [kind, k] of steps) {
						if (kind <= 5) {
							if (open.length < 4 && (open.length === 0 || k >= open.length)) {
								open.push(Object.assign(openTransaction(db), { ids: [] as string[] }));
							}
							const target = open[Math.min(k, open.length - 1)];
							if (target) target.ids.push(await insertJob(await target.tx, next++));
						} else if (kind <= 7) {
							// Commit a random open transaction — not necessarily the oldest.
							const [victim] = open.splice(k % Math.max(open.length, 1), 1);
							if (victim) {
								await victim.commit();
								committed.push(...victim.ids);
							}
						} else await pull();
					}
					for (const tx of open.splice(0)) {
						await tx.commit();
						committed.push(...tx.ids);
					}
					await pull();
					expect(new Set(delivered).size).toBe(delivered.length);
					expect([...delivered].sort()).toEqual([...committed].sort());
				}
			),
			{ seed, numRuns: 25 }
		);
	});
});

describe('change feed on PGlite (Postgres 17)', () => {
	it('reads the trigger-written log below the snapshot horizon, token across a reopen of the cursor', async () => {
		const db = await openTestPgliteDb();
		try {
			await migrate(db);
			const ids: string[] = [];
			for (let i = 0; i < 7; i++) ids.push(await db.transaction((tx) => insertJob(tx, 920000 + i)));
			const first = await drain(db, undefined, 3);
			expect(first.delivered).toEqual(ids);
			await db.query(`UPDATE jobs SET version = 2, data = '{"n":0}' WHERE id = $1`, [ids[0]]);
			expect((await drain(db, first.token, 3)).delivered).toEqual([ids[0]]);
		} finally {
			await db.close();
		}
	});
});

/**
 * The page Postgres shapes (PAGE_SQL) against the JS shaping it replaced, row for row: per entity its
 * latest row of the page in the order of those rows, `visibleData` with `version`, deletions, the
 * `updatedAt` fallback, `changedBy` text that needs escaping. Log rows written straight into
 * change_log (no projection): every operation kind, odd data.
 */
describe('pull page shaping (pg): the database-built page equals the reference shaping', () => {
	let t: TestPgDb;
	beforeAll(async () => {
		t = await openTestPgDb();
		await migrate(t.db);
	});
	afterAll(() => t?.dropSchema());

	const worker: AuthUser = { id: '00000000-0000-4000-8000-0000000000aa', name: 'w', role: 'WORKER' };
	const jobs = ['00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000b2'];
	const entityIds = Array.from({ length: 5 }, (_, i) => `00000000-0000-4000-8000-0000000000c${i}`);

	interface RawRow {
		entity_type: EntityName;
		entity_id: string;
		operation: string;
		user_id: string | null;
		version: number;
		data: Record<string, unknown>;
		job_id: string | null;
		changed_at_ms: number;
	}

	/** The shaping pullChanges did in JS before PAGE_SQL (kept here as the reference). */
	function reference(user: AuthUser, rows: RawRow[]) {
		const latest = new Map<string, RawRow>();
		for (const row of rows) {
			const key = `${row.entity_type}:${row.entity_id}`;
			latest.delete(key);
			latest.set(key, row);
		}
		const changes: unknown[] = [];
		const deletions: unknown[] = [];
		for (const row of latest.values()) {
			const data: Record<string, unknown> = visibleData(user, row.entity_type, {
				...row.data,
				version: row.version
			});
			const updatedAt = typeof data.updatedAt === 'number' ? data.updatedAt : row.changed_at_ms;
			if (row.operation === 'DELETE' || data.deleted === true) {
				deletions.push({
					entity: row.entity_type,
					entityId: row.entity_id,
					version: row.version,
					deletedAt: updatedAt,
					deletedBy: row.user_id,
					data
				});
			} else {
				changes.push({
					entity: row.entity_type,
					entityId: row.entity_id,
					operation: row.operation === 'INSERT' ? 'create' : 'update',
					data,
					version: row.version,
					changedAt: updatedAt,
					changedBy: row.user_id
				});
			}
		}
		return { changes, deletions };
	}

	const rowArb = fc.record({
		entity_type: fc.constantFrom<EntityName>('customer', 'job', 'material'),
		entity: fc.integer({ min: 0, max: entityIds.length - 1 }),
		job: fc.integer({ min: 0, max: jobs.length - 1 }),
		operation: fc.constantFrom('INSERT', 'UPDATE', 'DELETE', 'REVEAL'),
		user_id: fc.option(fc.constantFrom('u1', 'quo"te\\back', 'ünï ☃'), { nil: null }),
		version: fc.integer({ min: 1, max: 9 }),
		data: fc.record(
			{
				name: fc.string({ maxLength: 6 }),
				price: fc.integer({ min: 0, max: 500 }),
				quantity: fc.constantFrom(0, 2.5, -1, 1e21, 0.000001),
				updatedAt: fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.constant('soon'), fc.constant(null)),
				deleted: fc.constantFrom(true, false, 'true', null)
			},
			{ requiredKeys: ['name'] }
		),
		newTx: fc.boolean()
	});

	it('owner and worker pages, random rows and limits', async () => {
		const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
		console.log(`pull shaping seed: ${seed} (FC_SEED=${seed} to replay)`);
		const { db } = t;
		await db.query('INSERT INTO job_assignments (job_id, user_id) VALUES ($1, $2)', [jobs[0], worker.id]);
		await fc.assert(
			fc.asyncProperty(
				fc.array(rowArb, { minLength: 1, maxLength: 30 }),
				fc.integer({ min: 1, max: 7 }),
				async (written, limit) => {
					const { rows: tip } = await db.query<{ txid: string; seq: number }>(
						'SELECT txid::text AS txid, seq FROM change_log ORDER BY txid DESC, seq DESC LIMIT 1'
					);
					const start = tip[0] ? encodeToken({ txid: tip[0].txid, seq: Number(tip[0].seq) }) : undefined;
					// Consecutive rows share a transaction unless `newTx`: several rows under one txid.
					const groups: Array<typeof written> = [];
					for (const row of written) {
						if (row.newTx || groups.length === 0) groups.push([]);
						groups[groups.length - 1]?.push(row);
					}
					for (const group of groups) {
						await db.transaction(async (tx) => {
							for (const r of group) {
								await tx.query(
									`INSERT INTO change_log (entity_type, entity_id, operation, user_id, version, data, job_id)
									 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
									[
										r.entity_type,
										entityIds[r.entity],
										r.operation,
										r.user_id,
										r.version,
										JSON.stringify(r.data),
										r.entity_type === 'customer' ? null : jobs[r.job]
									]
								);
							}
						});
					}
					const { rows: raw } = await db.query<RawRow & { txid: string; seq: number }>(
						`SELECT txid::text AS txid, seq, entity_type, entity_id::text AS entity_id, operation, user_id, version,
						   data, job_id::text AS job_id, floor(extract(epoch FROM changed_at) * 1000)::float8 AS changed_at_ms
						 FROM change_log ORDER BY txid, seq`
					);
					const from = decodeToken(start);
					const after = raw.filter((r) => comparePositions({ txid: r.txid, seq: Number(r.seq) }, from) > 0);
					for (const user of [owner, worker]) {
						const visible = after.filter(
							(r) => user.role === 'OWNER' || (r.entity_type !== 'customer' && r.job_id === jobs[0])
						);
						let token: string | undefined = start;
						for (let at = 0; ; at += limit) {
							const page = await pullChanges(db, user, { lastSyncToken: token, limit });
							const chunk = visible.slice(at, at + limit);
							expect({ changes: page.changes, deletions: page.deletions }).toEqual(reference(user, chunk));
							expect(page.hasMore).toBe(visible.length > at + limit);
							token = page.syncToken;
							if (!page.hasMore) break;
						}
					}
				}
			),
			{ seed, numRuns: 30 }
		);
	});
});

/**
 * The feed's plan does not depend on statistics (`readFeed`): on a change_log Postgres has never
 * analyzed, its estimate of the keyset condition makes a bitmap scan plus a sort of every row after
 * the cursor look cheaper than reading the order index up to the limit. The statement pullChanges
 * really sends, in its own transaction, is explained there instead of run once.
 */
describe('change feed plan (pg): index order, no sort, without statistics', () => {
	let t: TestPgDb;
	beforeAll(async () => {
		t = await openTestPgDb();
		await migrate(t.db);
		await t.db.query('ALTER TABLE change_log SET (autovacuum_enabled = false)');
		for (let part = 0; part < 2; part++) {
			await t.db.query(
				`INSERT INTO change_log (entity_type, entity_id, operation, version, data)
				 SELECT 'material', gen_random_uuid(), 'INSERT', 1, jsonb_build_object('name', 'seed ' || g, 'quantity', g % 9)
				 FROM generate_series(1, 25000) g`
			);
		}
	});
	afterAll(() => t?.dropSchema());

	interface PlanNode {
		'Node Type': string;
		Plans?: PlanNode[];
	}
	const nodeTypes = (plan: PlanNode): string[] => [
		plan['Node Type'],
		...(plan.Plans ?? []).flatMap(nodeTypes)
	];
	const explain = async (q: Tx['query'], sql: string, params?: readonly unknown[]) => {
		const { rows } = await q<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
		const plan = rows[0]?.['QUERY PLAN'][0].Plan;
		if (!plan) throw new Error('EXPLAIN gave no plan');
		return nodeTypes(plan);
	};

	it('reads change_log_order_idx up to the limit where the bare statement would sort', async () => {
		const plans: string[][] = [];
		let feedSql = '';
		let feedParams: readonly unknown[] = [];
		const spying: Db = {
			kind: 'pg',
			close: () => t.db.close(),
			query: (sql, params) => t.db.query(sql, params),
			transaction: (work) =>
				t.db.transaction((tx) =>
					work({
						async query(sql, params) {
							if (sql.includes('FROM change_log c')) {
								feedSql = sql;
								feedParams = params ?? [];
								plans.push(await explain(tx.query.bind(tx), sql, params));
							}
							return tx.query(sql, params);
						}
					})
				)
		};
		const page = await pullChanges(spying, owner, { limit: 5000 });
		expect(page.changes).toHaveLength(5000);
		expect(plans).toHaveLength(1);
		expect(plans[0]).toContain('Index Scan');
		expect(plans[0]).not.toContain('Sort');
		// The setup provokes what readFeed prevents: the same statement outside it sorts.
		expect(await explain(t.db.query.bind(t.db), feedSql, feedParams)).toContain('Sort');
	});
});
