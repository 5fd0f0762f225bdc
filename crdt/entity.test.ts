import { describe, expect, it } from 'vitest';
import { parseDocName } from './doc-names.ts';
import { CustomerDoc, MaterialListDoc } from './documents.ts';
import { type Replica, replica, sync } from './test-support.ts';

const JOB_ID = '00000000-0000-4000-8000-000000000040';
const CUSTOMER_ID = '00000000-0000-4000-8000-000000000041';

const customerOn = (r: Replica) => new CustomerDoc(r.doc, CUSTOMER_ID, r.ctx);
const listOn = (r: Replica) => new MaterialListDoc(r.doc, JOB_ID, r.ctx);

describe('entities', () => {
	it('TOMB-1 an edit concurrent with a delete keeps the entity deleted and keeps the edit', () => {
		const a = replica('ana');
		const b = replica('owner', 'OWNER');
		const id = listOn(a).add({ name: 'Tarp', quantity: 1 }).id;
		sync(a, b);
		listOn(a).require(id).remove();
		listOn(b).require(id).set({ quantity: 6 });
		sync(a, b);
		for (const r of [a, b]) expect(listOn(r).read(id)).toMatchObject({ deleted: true, quantity: 6 });
	});

	it('TOMB-2 restore brings the entity back with every field', () => {
		const a = replica('ana');
		const list = listOn(a);
		const material = list.add({ name: 'Tarp', quantity: 2, unit: 'pc' });
		material.appendNote('blue');
		material.remove();
		material.set({ quantity: 3 });
		material.restore();
		expect(list.read(material.id)).toMatchObject({
			name: 'Tarp',
			quantity: 3,
			unit: 'pc',
			notes: 'blue',
			deleted: false
		});
	});

	it('UC-1 concurrent distinct USER_CHOICE values are reported as needing a choice', () => {
		const a = replica('owner', 'OWNER');
		const b = replica('owner2', 'OWNER');
		customerOn(a).create({ name: 'Kim', phone: '555-0100' });
		sync(a, b);
		customerOn(a).entity.set({ phone: '555-0111' });
		customerOn(b).entity.set({ phone: '555-0122' });
		sync(a, b);
		const [conflict] = customerOn(a).conflicts();
		expect(conflict).toMatchObject({ field: 'phone', needsChoice: true, entity: 'customer' });
		expect([...(conflict?.values ?? [])].sort()).toEqual(['555-0111', '555-0122']);
		expect(customerOn(b).conflicts()).toEqual(customerOn(a).conflicts());
		expect(['555-0111', '555-0122']).toContain(customerOn(a).read()?.phone);
	});

	it('UC-2 a write that has seen every value resolves the conflict everywhere', () => {
		const a = replica('owner', 'OWNER');
		const b = replica('owner2', 'OWNER');
		customerOn(a).create({ name: 'Kim' });
		sync(a, b);
		customerOn(a).entity.set({ email: 'a@x.test' });
		customerOn(b).entity.set({ email: 'b@x.test' });
		sync(a, b);
		customerOn(b).entity.set({ email: 'b@x.test' }); // the user picked b
		sync(a, b);
		for (const r of [a, b]) {
			expect(customerOn(r).conflicts()).toEqual([]);
			expect(customerOn(r).read()?.email).toBe('b@x.test');
		}
	});

	it('FM-1 edits of different fields all apply; disagreeing fields are reported', () => {
		const a = replica('owner', 'OWNER');
		const b = replica('owner2', 'OWNER');
		customerOn(a).create({ name: 'Kim', phone: '1', address: 'Main St' });
		sync(a, b);
		customerOn(a).entity.set({ name: 'Kim Lee', phone: '2' });
		customerOn(b).entity.set({ address: 'Elm St', phone: '3' });
		sync(a, b);
		expect(customerOn(a).read()).toMatchObject({ name: 'Kim Lee', address: 'Elm St' });
		expect(
			customerOn(a)
				.conflicts()
				.map((c) => c.field)
		).toEqual(['phone']);
	});

	it('DOC-1 only job:, materials: and customer: names with a UUID are documents', () => {
		expect(parseDocName(`job:${JOB_ID}`)).toEqual({ kind: 'job', id: JOB_ID });
		expect(parseDocName(`materials:${JOB_ID}`)).toEqual({ kind: 'materials', id: JOB_ID });
		// Upper case would make a second document for the same job.
		for (const bad of [
			'job:1',
			`jobs:${JOB_ID}`,
			'job:ABCDEF00-0000-4000-8000-000000000040',
			`customer:${JOB_ID}x`,
			'',
			`job:${JOB_ID}:x`
		]) {
			expect(parseDocName(bad)).toBeUndefined();
		}
	});
});
