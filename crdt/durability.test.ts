import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { JobDoc, MaterialListDoc } from './documents.ts';
import { keysOf } from './map-index.ts';
import { TOUCH_FIELD } from './schema.ts';
import { type Replica, replica, sync } from './test-support.ts';

const JOB_ID = '00000000-0000-4000-8000-000000000050';

/** A replica whose wall clock the test moves, to make the removed entry the newest one. */
function timedReplica(userId: string, role: 'OWNER' | 'WORKER' = 'OWNER') {
	const wall = { now: 1_000 };
	return { wall, r: replica(userId, role, () => wall.now) };
}

/** What the durability acknowledgement compares (wire/durability.ts `isDurable`). */
const ownClock = (r: Replica) => Y.getState(r.doc.store, r.doc.clientID);
const touches = (job: JobDoc) => keysOf(job.entity.map, TOUCH_FIELD);

describe('every edit writes a stamped entry (durability)', () => {
	it('DUR-1 MAT-7 removing the newest crew member advances the clock and keeps updatedAt', () => {
		const { wall, r } = timedReplica('owner');
		const job = new JobDoc(r.doc, JOB_ID, r.ctx);
		job.create({ title: 'Roof' });
		wall.now = 5_000;
		job.entity.addMember('ana');
		const before = { clock: ownClock(r), updatedAt: job.entity.updatedAt() };
		wall.now = 2_000; // a wall clock stepping back must not matter either (HLC-1)
		job.entity.removeMember('ana');
		expect(job.entity.members()).toEqual([]);
		expect(ownClock(r)).toBeGreaterThan(before.clock);
		expect(job.entity.updatedAt()).toBeGreaterThanOrEqual(before.updatedAt);
	});

	it('DUR-1 MAT-7 a replace that only removes advances the clock and keeps updatedAt', () => {
		const { wall, r } = timedReplica('owner');
		const job = new JobDoc(r.doc, JOB_ID, r.ctx);
		job.create({ title: 'Roof' });
		wall.now = 5_000;
		job.entity.replaceMembers(['ana', 'ben']);
		const before = { clock: ownClock(r), updatedAt: job.entity.updatedAt() };
		job.entity.replaceMembers(['ana']);
		expect(job.entity.members()).toEqual(['ana']);
		expect(ownClock(r)).toBeGreaterThan(before.clock);
		expect(job.entity.updatedAt()).toBeGreaterThanOrEqual(before.updatedAt);
	});

	it('DUR-1 MAT-7 restoring a note advances the clock and keeps updatedAt, on every replica', () => {
		const { wall, r: a } = timedReplica('ana', 'WORKER');
		const b = replica('owner', 'OWNER', () => 1_000);
		const list = new MaterialListDoc(a.doc, JOB_ID, a.ctx);
		const material = list.add({ name: 'Tarp' }, 1_000);
		const note = material.appendNote('blue');
		wall.now = 9_000;
		material.setNoteDeleted(note, true);
		const before = { clock: ownClock(a), updatedAt: material.updatedAt() };
		material.setNoteDeleted(note, false);
		expect(material.notes()[0]?.deleted).toBe(false);
		expect(ownClock(a)).toBeGreaterThan(before.clock);
		expect(material.updatedAt()).toBeGreaterThanOrEqual(before.updatedAt);
		sync(a, b);
		expect(new MaterialListDoc(b.doc, JOB_ID, b.ctx).read(material.id)?.updatedAt).toBe(material.updatedAt());
	});

	it('DUR-1 an edit that changes nothing writes nothing; one that writes an entry needs no touch', () => {
		const r = replica('owner', 'OWNER');
		const job = new JobDoc(r.doc, JOB_ID, r.ctx);
		job.create({ title: 'Roof' });
		const clock = ownClock(r);
		job.entity.removeMember('nobody');
		const note = job.entity.appendNote('hi');
		expect(ownClock(r)).toBeGreaterThan(clock);
		job.entity.setNoteDeleted(note, true);
		job.entity.addMember('ana');
		job.entity.set({ status: 'done' });
		expect(touches(job)).toEqual([]);
	});

	it('DUR-1 a touch replaces the touches its writer has seen, so one edit costs one small entry', () => {
		const r = replica('owner', 'OWNER');
		const job = new JobDoc(r.doc, JOB_ID, r.ctx);
		job.create({ title: 'Roof' });
		for (const member of ['ana', 'ben', 'cy']) {
			job.entity.addMember(member);
			job.entity.removeMember(member);
		}
		expect(touches(job)).toHaveLength(1);
	});

	it('DUR-2 the touch is not data: never in the JSON, never a conflict, even when concurrent', () => {
		const a = replica('owner', 'OWNER');
		const b = replica('owner2', 'OWNER');
		new JobDoc(a.doc, JOB_ID, a.ctx).create({ title: 'Roof' });
		new JobDoc(a.doc, JOB_ID, a.ctx).entity.replaceMembers(['ana', 'ben']);
		sync(a, b);
		new JobDoc(a.doc, JOB_ID, a.ctx).entity.removeMember('ana');
		new JobDoc(b.doc, JOB_ID, b.ctx).entity.removeMember('ben');
		sync(a, b);
		const job = new JobDoc(a.doc, JOB_ID, a.ctx);
		expect(touches(job)).toHaveLength(2);
		expect(job.read()).not.toHaveProperty(TOUCH_FIELD);
		expect(job.read()?.assignedTo).toEqual([]);
		expect(job.conflicts()).toEqual([]);
		expect(new JobDoc(b.doc, JOB_ID, b.ctx).read()).toEqual(job.read());
	});
});
