import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { JobDoc, PrivateNotesDoc } from './documents.ts';
import { replica, sync } from './test-support.ts';

const JOB_ID = '00000000-0000-4000-8000-000000000020';

describe('append list (notes)', () => {
	it('NOTE-1 appending never overwrites or reorders existing notes', () => {
		const a = replica('ana');
		const job = new JobDoc(a.doc, JOB_ID, a.ctx);
		job.create({ title: 'Roof' });
		job.entity.appendNote('first');
		const before = job.entity.notes().map((n) => n.text);
		job.entity.appendNote('second');
		expect(job.entity.notes().map((n) => n.text)).toEqual([...before, 'second']);
		expect(job.read()?.notes).toBe('first\n---\nsecond');
	});

	it('NOTE-2 a deleted note leaves the rendering, stays readable and can be restored', () => {
		const a = replica('ana');
		const job = new JobDoc(a.doc, JOB_ID, a.ctx);
		job.create({ title: 'Roof' });
		const keep = job.entity.appendNote('keep');
		const drop = job.entity.appendNote('oops');
		job.entity.setNoteDeleted(drop, true);
		expect(job.read()?.notes).toBe('keep');
		expect(job.entity.notes().find((n) => n.id === drop)).toMatchObject({ text: 'oops', deleted: true });
		job.entity.setNoteDeleted(drop, false);
		expect(job.read()?.notes).toBe('keep\n---\noops');
		expect(job.entity.notes().map((n) => n.id)).toEqual([keep, drop]);
	});

	it('NOTE-3 concurrent appends appear in the same order everywhere', () => {
		const replicas = ['ana', 'ben', 'cy'].map((n) => replica(n, 'WORKER', () => 42));
		const [first, ...rest] = replicas;
		if (!first) throw new Error('no replica');
		new JobDoc(first.doc, JOB_ID, first.ctx).create({ title: 'Roof' });
		for (const r of rest) sync(first, r);
		replicas.forEach((r, i) => {
			new JobDoc(r.doc, JOB_ID, r.ctx).entity.appendNote(`from ${i}`);
		});
		for (const a of replicas) for (const b of replicas) if (a !== b) sync(a, b);
		const rendered = replicas.map((r) => new JobDoc(r.doc, JOB_ID, r.ctx).read()?.notes);
		expect(new Set(rendered).size).toBe(1);
		expect(String(rendered[0]).split('\n---\n').sort()).toEqual(['from 0', 'from 1', 'from 2']);
	});

	it("NOTE-4 AUD-2 private notes live in their author's own document, scoped by the author", () => {
		const a = replica('ana');
		const b = replica('ben');
		new JobDoc(a.doc, JOB_ID, a.ctx).create({ title: 'Roof' });
		sync(a, b);
		const anaNotes = new PrivateNotesDoc(new Y.Doc(), JOB_ID, 'ana', a.ctx);
		const benNotes = new PrivateNotesDoc(new Y.Doc(), JOB_ID, 'ben', b.ctx);
		anaNotes.entity.appendPrivateNote('call my supplier');
		benNotes.entity.appendPrivateNote('bring ladder');
		expect(anaNotes.entity.privateNotes('ana').map((n) => n.text)).toEqual(['call my supplier']);
		expect(benNotes.entity.privateNotes('ben').map((n) => n.text)).toEqual(['bring ladder']);
		const job = new JobDoc(a.doc, JOB_ID, a.ctx);
		expect(() => job.entity.appendPrivateNote('x')).toThrow(/no field "privateNotes"/);
		expect([...job.entity.map.keys()].some((k) => k.startsWith('privateNotes|'))).toBe(false);
		expect([...anaNotes.entity.map.keys()].every((k) => k.startsWith('privateNotes|ana|'))).toBe(true);
	});
});
