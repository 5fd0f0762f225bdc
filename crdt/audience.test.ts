import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DOC_LAYOUT, parseDocName, privateNotesDocName } from './doc-names.ts';
import { JobDoc, JobOwnerDoc } from './documents.ts';
import { audienceOf, ENTITY_DEFS, entityPart, JOB, OWNER_ONLY_FIELDS, workerMayWrite } from './schema.ts';
import { replica } from './test-support.ts';

const JOB_ID = '00000000-0000-4000-8000-000000000031';
const USER_ID = '00000000-0000-4000-8000-000000000032';

describe('audiences (one declaration in the schema)', () => {
	it("AUD-1 every field has exactly one audience; price is the owner's, private notes the author's", () => {
		expect(audienceOf(JOB.fields.price as never)).toBe('owner');
		expect(audienceOf(JOB.fields.privateNotes as never)).toBe('author');
		expect(OWNER_ONLY_FIELDS).toEqual({ customer: [], job: ['price'], material: [] });
		for (const def of Object.values(ENTITY_DEFS)) {
			const parts = (['crew', 'owner', 'author'] as const).map((a) => Object.keys(entityPart(def, a).fields));
			expect(parts.flat().sort()).toEqual(Object.keys(def.fields).sort());
		}
	});

	it('AUD-2 each document holds only the fields of its audience', () => {
		const r = replica('owner', 'OWNER');
		const shared = new JobDoc(r.doc, JOB_ID, r.ctx);
		shared.create({ title: 'Roof', status: 'scheduled' });
		expect(() => shared.entity.set({ price: 5 })).toThrow(/no field "price"/);
		expect(shared.read()).not.toHaveProperty('price');
		const ownerDoc = new Y.Doc();
		const owner = new JobOwnerDoc(ownerDoc, JOB_ID, r.ctx);
		owner.entity.set({ price: 98765.4321 });
		expect(owner.read()).toEqual({ price: 98765.4321 });
		expect(() => owner.entity.set({ title: 'x' })).toThrow(/no field "title"/);
		expect(DOC_LAYOUT['job-owner'].root).not.toBe(DOC_LAYOUT.job.root);
	});

	it('AUD-3 workers write neither owner-only fields nor the fields only owners write', () => {
		for (const field of ['price', 'customerId', 'assignedTo', 'createdAt', 'deleted'])
			expect(workerMayWrite(JOB, field)).toBe(false);
		for (const field of ['title', 'status', 'notes', 'hoursLogged'])
			expect(workerMayWrite(JOB, field)).toBe(true);
		expect(workerMayWrite(JOB, 'constructor')).toBe(false);
	});

	it('DOC-2 names: job, job-owner, materials, customer with a UUID; private-notes with job and user UUIDs', () => {
		expect(parseDocName(`job-owner:${JOB_ID}`)).toEqual({ kind: 'job-owner', id: JOB_ID });
		expect(parseDocName(privateNotesDocName(JOB_ID, USER_ID))).toEqual({
			kind: 'private-notes',
			id: JOB_ID,
			userId: USER_ID
		});
		for (const bad of [
			`private-notes:${JOB_ID}`,
			`private-notes:${JOB_ID}:nope`,
			`job:${JOB_ID}:${USER_ID}`,
			`constructor:${JOB_ID}`,
			`__proto__:${JOB_ID}`,
			`job-owner:${JOB_ID.replace(/0031$/, 'ABCD')}`
		])
			expect(parseDocName(bad)).toBeUndefined();
	});
});
