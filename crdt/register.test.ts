import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { seededRandom, testSeed } from '../tests/support/random.ts';
import { CustomerDoc, JobDoc, MaterialListDoc } from './documents.ts';
import { CrdtError } from './errors.ts';
import { seenWithin, stateVectorSeenBy } from './register.ts';
import { replica, sync } from './test-support.ts';

const JOB_ID = '00000000-0000-4000-8000-000000000002';
const CUSTOMER_ID = '00000000-0000-4000-8000-000000000003';

describe('observed-remove multi-value register', () => {
	it('REG-1 a write removes what it has seen; concurrent writes stay as entries', () => {
		const a = replica('ana');
		const b = replica('ben');
		const listA = new MaterialListDoc(a.doc, JOB_ID, a.ctx);
		const id = listA.add({ name: 'Nails', quantity: 1 }).id;
		listA.require(id).set({ quantity: 2 });
		expect(listA.require(id).field('quantity').entries).toHaveLength(1);
		sync(a, b);
		new MaterialListDoc(b.doc, JOB_ID, b.ctx).require(id).set({ quantity: 7 });
		listA.require(id).set({ quantity: 4 });
		sync(a, b);
		const values = listA
			.require(id)
			.field('quantity')
			.entries.map((e) => e.v);
		expect(values.sort()).toEqual([4, 7]);
		listA.require(id).set({ quantity: 5 }); // has seen both
		sync(a, b);
		expect(new MaterialListDoc(b.doc, JOB_ID, b.ctx).require(id).field('quantity').entries).toHaveLength(1);
	});

	it('REG-2 a write based on an older state vector keeps later entries as concurrent', () => {
		const a = replica('ana');
		const list = new MaterialListDoc(a.doc, JOB_ID, a.ctx);
		const material = list.add({ name: 'Tarp', purchased: false });
		const base = Y.decodeStateVector(Y.encodeStateVector(a.doc));
		material.set({ purchased: true }); // written after the base
		material.set({ purchased: false }, { seen: seenWithin(material.map, base) });
		expect(material.field('purchased').entries).toHaveLength(2);
		expect(material.get('purchased')).toBe(true);
	});

	it("REG-2 a version names only its entity's clients, and a write based on it sees what the whole document's state vector would", () => {
		const seed = testSeed();
		console.log(`stateVectorSeenBy: seed ${seed} (TEST_SEED=${seed} to replay)`);
		const random = seededRandom(seed);
		const a = replica('ana', 'OWNER');
		const list = new MaterialListDoc(a.doc, JOB_ID, a.ctx);
		const ids = Array.from({ length: 4 }, (_, i) => list.add({ name: `m${i}`, quantity: i }).id);
		const edit = () => {
			// Every few edits a new app session: a new Yjs client of the same document.
			if (random() < 0.3) a.doc.clientID = 1 + Math.floor(random() * 2 ** 31);
			const id = ids[Math.floor(random() * ids.length)] as string;
			list
				.require(id)
				.set(random() < 0.5 ? { quantity: Math.floor(random() * 9) } : { purchased: random() < 0.5 });
		};
		for (let i = 0; i < 60; i++) edit();
		const whole = Y.decodeStateVector(Y.encodeStateVector(a.doc));
		const versions = ids.map((id) => stateVectorSeenBy(list.require(id).map));
		for (let i = 0; i < 60; i++) edit();
		for (const [n, id] of ids.entries()) {
			const { map } = list.require(id);
			const version = versions[n] as Map<number, number>;
			expect(version.size).toBeLessThan(whole.size);
			const byVersion = seenWithin(map, version);
			const byWhole = seenWithin(map, whole);
			// Every key live now, written before the version or after it.
			for (const key of map.keys()) expect([key, byVersion(key)]).toEqual([key, byWhole(key)]);
		}
	});

	it('REG-3 the value depends only on the entries, not on delivery order', () => {
		const writers = ['ana', 'ben', 'cy'].map((name) => replica(name));
		const [first] = writers;
		if (!first) throw new Error('no replicas');
		const id = new MaterialListDoc(first.doc, JOB_ID, first.ctx).add({ name: 'Wire' }).id;
		for (const w of writers.slice(1)) sync(first, w);
		const updates = writers.map((w, i) => {
			const before = Y.encodeStateVector(w.doc);
			new MaterialListDoc(w.doc, JOB_ID, w.ctx).require(id).set({ name: `wire ${i}`, quantity: i + 1 });
			return Y.encodeStateAsUpdate(w.doc, before);
		});
		const forward = new Y.Doc();
		const backward = new Y.Doc();
		Y.applyUpdate(forward, Y.encodeStateAsUpdate(first.doc));
		Y.applyUpdate(backward, Y.encodeStateAsUpdate(first.doc));
		for (const u of updates) Y.applyUpdate(forward, u);
		for (const u of [...updates].reverse()) Y.applyUpdate(backward, u);
		const read = (doc: Y.Doc) => new MaterialListDoc(doc, JOB_ID, first.ctx).list();
		expect(read(forward)).toEqual(read(backward));
	});

	it('LWW-1 plain fields take the latest write, ties broken by writer id', () => {
		let wall = 5_000;
		const a = replica('ana', 'WORKER', () => wall);
		const b = replica('ben', 'WORKER', () => wall);
		const id = new MaterialListDoc(a.doc, JOB_ID, a.ctx).add({ name: 'Nails' }).id;
		sync(a, b);
		wall = 6_000;
		new MaterialListDoc(a.doc, JOB_ID, a.ctx).require(id).set({ unit: 'box' });
		new MaterialListDoc(b.doc, JOB_ID, b.ctx).require(id).set({ unit: 'kg' });
		sync(a, b);
		// Same HLC: the writer id "ben" sorts after "ana".
		expect(new MaterialListDoc(a.doc, JOB_ID, a.ctx).read(id)?.unit).toBe('kg');
		wall = 7_000;
		new MaterialListDoc(a.doc, JOB_ID, a.ctx).require(id).set({ name: 'later' });
		wall = 6_500;
		new MaterialListDoc(b.doc, JOB_ID, b.ctx).require(id).set({ name: 'earlier' });
		sync(a, b);
		expect(new MaterialListDoc(b.doc, JOB_ID, b.ctx).read(id)?.name).toBe('later');
	});

	it('ID-1 outcomes do not depend on Yjs clientIDs', () => {
		const outcome = (clientIds: [number, number]) => {
			const a = replica('ana', 'WORKER', () => 1_000);
			const b = replica('ben', 'WORKER', () => 1_000);
			a.doc.clientID = clientIds[0];
			b.doc.clientID = clientIds[1];
			const list = new MaterialListDoc(a.doc, JOB_ID, a.ctx);
			const id = list.add({ id: '00000000-0000-4000-8000-0000000000aa', name: 'x' }, 1).id;
			sync(a, b);
			list.require(id).set({ unit: 'from ana' });
			new MaterialListDoc(b.doc, JOB_ID, b.ctx).require(id).set({ unit: 'from ben' });
			sync(a, b);
			return list.read(id)?.unit;
		};
		expect(outcome([1, 2])).toBe(outcome([2, 1]));
	});

	it('VAL-1 bad input throws a typed error naming the field and writes nothing', () => {
		const a = replica('ana');
		const list = new MaterialListDoc(a.doc, JOB_ID, a.ctx);
		const material = list.add({ name: 'Nails', quantity: 3 });
		const before = Y.encodeStateVector(a.doc);
		const cases: [Record<string, unknown>, string][] = [
			[{ quantity: -1 }, 'quantity'],
			[{ quantity: Number.NaN }, 'quantity'],
			[{ name: 'ok', quantity: '3' }, 'quantity'],
			[{ purchased: 'yes' }, 'purchased'],
			[{ colour: 'red' }, 'colour'],
			[{ notes: 'x' }, 'notes']
		];
		for (const [values, field] of cases) {
			const error = (() => {
				try {
					material.set(values);
				} catch (e) {
					return e;
				}
			})();
			expect(error).toBeInstanceOf(CrdtError);
			expect((error as CrdtError).field).toBe(field);
		}
		const job = new JobDoc(a.doc, JOB_ID, a.ctx);
		expect(() => job.create({ status: 'finished' })).toThrow(/status must be one of/);
		expect(() => new CustomerDoc(a.doc, CUSTOMER_ID, a.ctx).entity.appendNote('   ')).toThrow(CrdtError);
		expect(Y.encodeStateVector(a.doc)).toEqual(before);
		expect(list.read(material.id)?.name).toBe('Nails');
	});
});
