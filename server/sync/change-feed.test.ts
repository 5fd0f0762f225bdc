import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '../auth/roles.ts';
import { migrate } from '../db/migrate.ts';
import type { Db, Tx } from '../db/port.ts';
import { openTestPgDb, openTestPgliteDb, type TestPgDb } from '../db/testing.ts';
import { pullChanges } from './change-feed.ts';

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
