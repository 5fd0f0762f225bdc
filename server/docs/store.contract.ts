import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { migrate } from '../db/migrate.ts';
import type { Db, Tx } from '../db/port.ts';
import { createDocStore, type DocStore } from './store.ts';

/** An adapter for one contract run; `dispose` releases it. */
export interface StoreSubject {
	db: Db;
	dispose(): Promise<void>;
}

/** A Yjs update that sets `m[key] = value` from a fresh client (independent of every other). */
export function setUpdate(key: string, value: unknown): Uint8Array {
	const doc = new Y.Doc();
	doc.getMap('m').set(key, value);
	const update = Y.encodeStateAsUpdate(doc);
	doc.destroy();
	return update;
}

/** The `m` map of a loaded state, as JSON. */
export function mapOf(state: Uint8Array | null): Record<string, unknown> {
	const doc = new Y.Doc();
	if (state) Y.applyUpdate(doc, state);
	const json = doc.getMap('m').toJSON();
	doc.destroy();
	return json;
}

type Hook = (tx: Tx, sql: string) => Promise<void>;

/**
 * Wraps a Db to observe it: counts statements by their first words and lets a test run code inside
 * a transaction right before a chosen statement (to stage races deterministically, no sleeps).
 */
export function instrument(db: Db): {
	db: Db;
	count(prefix: string): number;
	before(prefix: string, hook: Hook): void;
} {
	const seen: string[] = [];
	const hooks = new Map<string, Hook>();
	const note = (sql: string) => seen.push(sql.trim().replace(/\s+/g, ' '));
	const hookFor = (sql: string) => {
		const trimmed = sql.trim();
		for (const [prefix, hook] of hooks) {
			if (trimmed.startsWith(prefix)) {
				hooks.delete(prefix);
				return hook;
			}
		}
		return undefined;
	};
	const wrapped: Db = {
		kind: db.kind,
		query(sql, params) {
			note(sql);
			return db.query(sql, params);
		},
		transaction(work) {
			return db.transaction((tx) =>
				work({
					async query(sql, params) {
						note(sql);
						await hookFor(sql)?.(tx, sql);
						return tx.query(sql, params);
					}
				})
			);
		},
		close: () => db.close()
	};
	return {
		db: wrapped,
		count: (prefix) => seen.filter((sql) => sql.startsWith(prefix)).length,
		before: (prefix, hook) => hooks.set(prefix, hook)
	};
}

/** The behaviour of `createDocStore` on any adapter. The suite runs the migrations itself. */
export function describeDocStoreContract(name: string, make: () => Promise<StoreSubject>): void {
	describe(`DocStore contract: ${name}`, () => {
		let subject: StoreSubject;
		let db: Db;
		let store: DocStore;

		beforeAll(async () => {
			subject = await make();
			db = subject.db;
			await migrate(db);
			store = createDocStore(db);
		});
		afterAll(async () => {
			await store?.close();
			await subject?.dispose();
		});

		it('loads null for a document never written', async () => {
			expect(await store.load('never')).toBeNull();
		});

		it('round-trips appended updates; an append has committed when it resolves', async () => {
			await store.appendUpdate('rt', setUpdate('a', 1));
			const { rows } = await db.query<{ n: number }>(
				"SELECT count(*)::int AS n FROM doc_updates WHERE doc_name = 'rt'"
			);
			expect(rows[0]?.n).toBe(1);
			await store.appendUpdate('rt', setUpdate('b', 'two'));
			expect(mapOf(await store.load('rt'))).toEqual({ a: 1, b: 'two' });
			expect(await store.load('other')).toBeNull();
		});

		it('group-commits concurrent appends of many documents into few INSERTs', async () => {
			const probe = instrument(db);
			const grouped = createDocStore(probe.db);
			const n = 300;
			await Promise.all(
				Array.from({ length: n }, (_, i) => grouped.appendUpdate(`group-${i % 7}`, setUpdate(`k${i}`, i)))
			);
			expect(grouped.pendingAppends).toBe(0);
			const inserts = probe.count('INSERT INTO doc_updates');
			expect(inserts).toBeGreaterThanOrEqual(1);
			expect(inserts).toBeLessThanOrEqual(3);
			const all = await Promise.all(Array.from({ length: 7 }, (_, d) => grouped.load(`group-${d}`)));
			expect(all.reduce((sum, state) => sum + Object.keys(mapOf(state)).length, 0)).toBe(n);
			await grouped.close();
			await expect(grouped.appendUpdate('x', setUpdate('x', 1))).rejects.toMatchObject({ code: 'CLOSED' });
		});

		it('many edits appended, compacted and loaded equal the original document', async () => {
			const source = new Y.Doc();
			const updates: Uint8Array[] = [];
			source.on('update', (update: Uint8Array) => updates.push(update));
			const text = source.getText('t');
			const map = source.getMap('m');
			for (let i = 0; i < 600; i++) {
				source.transact(() => {
					text.insert((i * 7) % (text.length + 1), `w${i} `);
					map.set(`k${i % 50}`, i);
					if (i % 5 === 0 && text.length > 10) text.delete(3, 4);
					if (i % 9 === 0) map.delete(`k${(i + 1) % 50}`);
				});
			}
			await Promise.all(updates.map((u) => store.appendUpdate('big', u)));
			const before = await store.load('big');
			const result = await store.compact('big');
			expect(result.foldedUpdates).toBe(updates.length);
			const { rows } = await db.query<{ n: number }>(
				"SELECT count(*)::int AS n FROM doc_updates WHERE doc_name = 'big'"
			);
			expect(rows[0]?.n).toBe(0);
			expect(await store.compact('big')).toMatchObject({ foldedUpdates: 0 });
			for (const state of [before, await store.load('big')]) {
				const loaded = new Y.Doc();
				Y.applyUpdate(loaded, state ?? new Uint8Array());
				expect(loaded.getText('t').toString()).toBe(text.toString());
				expect(loaded.getMap('m').toJSON()).toEqual(map.toJSON());
				expect(Y.encodeStateVector(loaded)).toEqual(Y.encodeStateVector(source));
			}
			// More edits after compaction: snapshot + tail.
			map.set('after', true);
			await store.appendUpdate('big', updates[updates.length - 1] ?? new Uint8Array());
			expect(mapOf(await store.load('big'))).toEqual(map.toJSON());
		});

		it('an update committed late with a LOWER seq survives compaction', async () => {
			await store.appendUpdate('late', setUpdate('early', 1));
			// Reserve a seq now, so the "late" row's seq is lower than the one appended next.
			const reserved = await db.query<{ seq: number }>(
				"SELECT nextval(pg_get_serial_sequence('doc_updates', 'seq')) AS seq"
			);
			const lowSeq = reserved.rows[0]?.seq;
			await store.appendUpdate('late', setUpdate('high', 2));
			const probe = instrument(db);
			// Between compaction's read and its DELETE, the low-seq row becomes visible (as when a
			// transaction that took its seq earlier commits now). `seq <= max(read)` would delete it unread.
			probe.before('DELETE FROM doc_updates', async (tx) => {
				await tx.query('INSERT INTO doc_updates (seq, doc_name, payload) VALUES ($1, $2, $3)', [
					lowSeq,
					'late',
					setUpdate('late', 3)
				]);
			});
			const result = await createDocStore(probe.db).compact('late');
			expect(result.foldedUpdates).toBe(2);
			expect(mapOf(await store.load('late'))).toEqual({ early: 1, high: 2, late: 3 });
			await store.compact('late');
			expect(mapOf(await store.load('late'))).toEqual({ early: 1, high: 2, late: 3 });
		});

		it('re-applying rows already in the snapshot is harmless (idempotent load)', async () => {
			const update = setUpdate('same', 'x');
			await store.appendUpdate('dup', update);
			await store.compact('dup');
			await store.appendUpdate('dup', update);
			expect(mapOf(await store.load('dup'))).toEqual({ same: 'x' });
		});

		it('a corrupt row is reported as DocStoreError CORRUPT_UPDATE, not silently skipped', async () => {
			await db.query("INSERT INTO doc_updates (doc_name, payload) VALUES ('bad', '\\xdeadbeef')");
			await expect(store.load('bad')).rejects.toMatchObject({ code: 'CORRUPT_UPDATE' });
			await expect(store.compact('bad')).rejects.toMatchObject({ code: 'CORRUPT_UPDATE' });
		});

		// `contains` from the holder (persistence passes `Y.snapshot` of its document) or, absent, decoded from `state`.
		it.each([
			['decoded from the state', 'held', undefined],
			['given by the holder', 'held-told', (copy: Y.Doc) => Y.snapshot(copy)]
		] as const)(
			'a held copy becomes the snapshot without the log being read back; rows it lacks stay (what it contains %s)',
			async (_, name, contains) => {
				const a = setUpdate('a', 1);
				const first = await store.appendUpdate(name, a);
				const loaded = await store.loadHeld(name);
				expect(loaded?.basis).toEqual({ snapshotVersion: 0, seqs: new Set([first]) });
				const copy = new Y.Doc();
				Y.applyUpdate(copy, loaded?.state ?? new Uint8Array());
				// The holder's own edit, applied and then appended: its seq joins the basis.
				copy.getMap('m').set('b', 2);
				const own = await store.appendUpdate(name, Y.encodeStateAsUpdate(copy));
				// Another instance's row the copy never saw, and a second copy of a row it has.
				await store.appendUpdate(name, setUpdate('elsewhere', 3));
				await store.appendUpdate(name, a);
				const probe = instrument(db);
				const basis = { snapshotVersion: 0, seqs: new Set([first, own]) };
				const result = await createDocStore(probe.db).compact(name, {
					state: Y.encodeStateAsUpdate(copy),
					basis,
					...(contains ? { contains: contains(copy) } : {})
				});
				expect(result).toMatchObject({ foldedUpdates: 3, heldVersion: 1 });
				expect(probe.count('SELECT seq, payload FROM doc_updates WHERE doc_name = $1 ORDER BY seq')).toBe(0);
				expect(mapOf(await store.load(name))).toEqual({ a: 1, b: 2, elsewhere: 3 });
				const { rows } = await db.query<{ n: number }>(
					'SELECT count(*)::int AS n FROM doc_updates WHERE doc_name = $1',
					[name]
				);
				// Only the row the copy lacks is left; the duplicate was checked to be contained.
				expect(rows[0]?.n).toBe(1);
				const again = await store.loadHeld(name);
				expect(again?.basis.snapshotVersion).toBe(1);
				copy.destroy();
			}
		);

		it('what a held copy contains is what the holder says, when it says it', async () => {
			const a = setUpdate('a', 1);
			const first = await store.appendUpdate('told', a);
			const copy = new Y.Doc();
			Y.applyUpdate(copy, a);
			// A second row with content the copy has: contained, by the copy's own state.
			await store.appendUpdate('told', a);
			const result = await store.compact('told', {
				state: Y.encodeStateAsUpdate(copy),
				basis: { snapshotVersion: 0, seqs: new Set([first]) },
				// Told it contains nothing: the row is not checked against the state, and stays.
				contains: Y.snapshot(new Y.Doc())
			});
			expect(result).toMatchObject({ foldedUpdates: 1, heldVersion: 1 });
			copy.destroy();
		});

		it('a held copy is not written once the snapshot moved on; the log is folded instead', async () => {
			await store.appendUpdate('moved', setUpdate('a', 1));
			const stale = await store.loadHeld('moved');
			if (!stale) throw new Error('not stored');
			// Another instance appends and compacts: the snapshot now holds what the stale copy lacks.
			await store.appendUpdate('moved', setUpdate('other', 2));
			await store.compact('moved');
			await store.appendUpdate('moved', setUpdate('later', 3));
			const result = await store.compact('moved', stale);
			expect(result).toMatchObject({ foldedUpdates: 1, heldVersion: null });
			expect(mapOf(await store.load('moved'))).toEqual({ a: 1, other: 2, later: 3 });
			// A first snapshot written meanwhile counts as moved on, too.
			await store.appendUpdate('first', setUpdate('a', 1));
			const none = await store.loadHeld('first');
			if (!none) throw new Error('not stored');
			await store.appendUpdate('first', setUpdate('b', 2));
			await store.compact('first');
			expect(await store.compact('first', none)).toMatchObject({ heldVersion: null });
			expect(mapOf(await store.load('first'))).toEqual({ a: 1, b: 2 });
		});

		it('commitNow() ends an open group-commit window, or spares the next append of an idle store one', async () => {
			// A window no test would wait out: whatever commits, commitNow committed.
			const slow = createDocStore(db, { groupCommitWindowMs: 60_000 });
			const count = async () =>
				(await db.query<{ n: number }>("SELECT count(*)::int AS n FROM doc_updates WHERE doc_name = 'now'"))
					.rows[0]?.n;
			const inWindow = slow.appendUpdate('now', setUpdate('a', 1));
			expect(await count()).toBe(0);
			slow.commitNow();
			await inWindow;
			expect(await count()).toBe(1);
			slow.commitNow(); // idle: the next append starts its batch at once
			await slow.appendUpdate('now', setUpdate('b', 2));
			expect(await count()).toBe(2);
			const waiting = slow.appendUpdate('now', setUpdate('c', 3)); // the skip was used up
			expect(await count()).toBe(2);
			slow.commitNow();
			await waiting;
			expect(mapOf(await slow.load('now'))).toEqual({ a: 1, b: 2, c: 3 });
			await slow.close();
		});

		it('commitNow() lets the appends of the same turn join the batch it commits', async () => {
			const slow = createDocStore(db, { groupCommitWindowMs: 60_000 });
			const first = slow.appendUpdate('turn-a', setUpdate('a', 1));
			slow.commitNow();
			// After the waiter asked, in the same turn and a few microtasks later (Hocuspocus' onChange).
			await Promise.resolve();
			const second = slow.appendUpdate('turn-b', setUpdate('b', 1));
			await Promise.all([first, second]);
			const { rows } = await db.query<{ n: number }>(
				"SELECT count(DISTINCT xmin::text)::int AS n FROM doc_updates WHERE doc_name IN ('turn-a', 'turn-b')"
			);
			expect(rows[0]?.n).toBe(1); // one transaction: one commit
			await slow.close();
		});

		it('flush() waits for appends issued before it', async () => {
			const appends = Array.from({ length: 50 }, (_, i) =>
				store.appendUpdate('flush', setUpdate(`f${i}`, i))
			);
			await store.flush();
			expect(store.pendingAppends).toBe(0);
			const { rows } = await db.query<{ n: number }>(
				"SELECT count(*)::int AS n FROM doc_updates WHERE doc_name = 'flush'"
			);
			expect(rows[0]?.n).toBe(50);
			await Promise.all(appends);
		});
	});
}
