import { describe, expect, it } from 'vitest';
import { MaterialListDoc } from './documents.ts';
import { type Replica, replica, sync } from './test-support.ts';

const JOB_ID = '00000000-0000-4000-8000-000000000010';

function lists(...replicas: Replica[]) {
	return replicas.map((r) => new MaterialListDoc(r.doc, JOB_ID, r.ctx));
}

/**
 * Two replicas that share one material, then go offline from each other: `a` is the worker ana,
 * `b` the owner (whose clock may be set, e.g. ahead, to make the owner's writes the later ones).
 */
function sharedMaterial(fields: Record<string, unknown>, ownerNowMs: () => number = Date.now) {
	const a = replica('ana');
	const b = replica('owner', 'OWNER', ownerNowMs);
	const [listA] = lists(a);
	const id = listA?.add({ name: 'Shingles', ...fields }).id as string;
	sync(a, b);
	const [ma, mb] = lists(a, b).map((l) => l.require(id));
	if (!ma || !mb) throw new Error('material missing');
	return { a, b, id, ma, mb };
}

describe('material list', () => {
	it('MAT-1 materials added on different replicas are all kept', () => {
		const a = replica('ana');
		const b = replica('ben');
		const [listA, listB] = lists(a, b);
		listA?.add({ name: 'Nails' });
		listB?.add({ name: 'Tarp' });
		sync(a, b);
		expect(listA?.list().map((m) => m.name)).toEqual(expect.arrayContaining(['Nails', 'Tarp']));
		expect(listA?.list()).toEqual(listB?.list());
	});

	it("MAT-2 a concurrent tick and un-tick end ticked, though the un-tick is the later write and the owner's", () => {
		// Tells the OR rule from last-write-wins and from role priority: the un-tick that loses is
		// both the later write (the owner's clock is an hour ahead) and by the higher role.
		const HOUR_MS = 3_600_000;
		const { a, b, id, ma, mb } = sharedMaterial({ purchased: true }, () => Date.now() + HOUR_MS);
		ma.set({ purchased: false });
		ma.set({ purchased: true }); // ana re-ticks: her last write is a tick, an hour "earlier"…
		mb.set({ purchased: false }); // …while the owner, not having seen it, un-ticks
		sync(a, b);
		for (const list of lists(a, b)) expect(list.read(id)?.purchased).toBe(true);
	});

	it('MAT-3 an un-tick that has seen the tick stands', () => {
		const { a, b, id, ma } = sharedMaterial({ purchased: true });
		ma.set({ purchased: false });
		sync(a, b);
		for (const list of lists(a, b)) expect(list.read(id)?.purchased).toBe(false);
	});

	it('MAT-4 concurrent quantities end at the maximum', () => {
		const { a, b, id, ma, mb } = sharedMaterial({ quantity: 5 });
		ma.set({ quantity: 8 });
		mb.set({ quantity: 3 });
		sync(a, b);
		for (const list of lists(a, b)) expect(list.read(id)?.quantity).toBe(8);
	});

	it('MAT-5 a deliberate decrease that has seen the old value stands', () => {
		const { a, b, id, ma } = sharedMaterial({ quantity: 12 });
		ma.set({ quantity: 4 });
		sync(a, b);
		for (const list of lists(a, b)) expect(list.read(id)?.quantity).toBe(4);
	});

	it('MAT-6 concurrent notes are all kept, joined by ---', () => {
		const { a, b, id, ma, mb } = sharedMaterial({});
		ma.appendNote('ridge caps too');
		mb.appendNote('get the grey ones');
		sync(a, b);
		const [readA, readB] = lists(a, b).map((l) => l.read(id)?.notes);
		expect(readA).toBe(readB);
		expect(String(readA).split('\n---\n').sort()).toEqual(['get the grey ones', 'ridge caps too']);
	});

	it('MAT-7 updatedAt is the latest write time of any field', () => {
		let wall = 1_000;
		const a = replica('ana', 'WORKER', () => wall);
		const b = replica('ben', 'WORKER', () => wall);
		const [listA] = lists(a);
		const id = listA?.add({ name: 'Nails' }, wall).id as string;
		sync(a, b);
		wall = 3_000;
		lists(b)[0]?.require(id).appendNote('late note');
		wall = 2_000;
		listA?.require(id).set({ quantity: 2 });
		sync(a, b);
		for (const list of lists(a, b)) expect(list.read(id)?.updatedAt).toBe(3_000);
	});
});
