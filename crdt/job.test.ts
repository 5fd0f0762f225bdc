import { describe, expect, it } from 'vitest';
import { JobDoc } from './documents.ts';
import { type Replica, replica, sync } from './test-support.ts';

const JOB_ID = '00000000-0000-4000-8000-000000000030';

function jobOn(r: Replica) {
	return new JobDoc(r.doc, JOB_ID, r.ctx);
}

function sharedJob() {
	const owner = replica('owner', 'OWNER');
	const worker = replica('ana', 'WORKER');
	jobOn(owner).create({ title: 'Roof', status: 'scheduled' });
	sync(owner, worker);
	return { owner, worker };
}

describe('job', () => {
	it('JOB-1 a concurrent owner write beats a worker write, whatever the times', () => {
		const owner = replica('owner', 'OWNER', () => 1_000);
		const worker = replica('ana', 'WORKER', () => 9_000_000);
		jobOn(owner).create({ title: 'Roof', status: 'scheduled' });
		sync(owner, worker);
		jobOn(worker).entity.set({ status: 'in_progress', title: 'Roof (worker)' });
		jobOn(owner).entity.set({ status: 'on_hold' });
		sync(owner, worker);
		for (const r of [owner, worker]) {
			expect(jobOn(r).read()?.status).toBe('on_hold');
			// The owner did not write the title concurrently: the worker's title stands.
			expect(jobOn(r).read()?.title).toBe('Roof (worker)');
		}
	});

	it('JOB-2 same role: the latest write wins', () => {
		let wall = 1_000;
		const a = replica('ana', 'WORKER', () => wall);
		const b = replica('ben', 'WORKER', () => wall);
		jobOn(a).create({ title: 'Roof' });
		sync(a, b);
		wall = 3_000;
		jobOn(a).entity.set({ status: 'done' });
		wall = 2_000;
		jobOn(b).entity.set({ status: 'on_hold' });
		sync(a, b);
		expect(jobOn(b).read()?.status).toBe('done');
	});

	it('ASG-1 concurrent adds are unioned', () => {
		const { owner, worker } = sharedJob();
		const other = replica('owner2', 'OWNER');
		sync(owner, other);
		jobOn(owner).entity.addMember('ana');
		jobOn(other).entity.addMember('ben');
		sync(owner, other);
		sync(owner, worker);
		expect(jobOn(worker).read()?.assignedTo).toEqual(['ana', 'ben']);
	});

	it('ASG-2 a removed member is gone everywhere once synced', () => {
		const { owner, worker } = sharedJob();
		jobOn(owner).entity.addMember('ana');
		jobOn(owner).entity.addMember('ben');
		sync(owner, worker);
		jobOn(owner).entity.removeMember('ana');
		sync(owner, worker);
		expect(jobOn(worker).read()?.assignedTo).toEqual(['ben']);
	});

	it('ASG-3 replace makes the set exactly the new members, keeping concurrent adds', () => {
		const { owner } = sharedJob();
		const other = replica('owner2', 'OWNER');
		jobOn(owner).entity.replaceMembers(['ana', 'ben']);
		sync(owner, other);
		jobOn(owner).entity.replaceMembers(['cy']);
		expect(jobOn(owner).read()?.assignedTo).toEqual(['cy']);
		jobOn(other).entity.addMember('dee'); // concurrent with the replace
		sync(owner, other);
		expect(jobOn(other).read()?.assignedTo).toEqual(['cy', 'dee']);
	});

	it('ASG-4 a concurrent add and remove of one member keep the member', () => {
		const { owner } = sharedJob();
		const other = replica('owner2', 'OWNER');
		jobOn(owner).entity.addMember('ana');
		sync(owner, other);
		jobOn(owner).entity.removeMember('ana');
		jobOn(other).entity.addMember('ana');
		sync(owner, other);
		for (const r of [owner, other]) expect(jobOn(r).read()?.assignedTo).toEqual(['ana']);
	});

	it('CNT-1 hours are summed across users, with per-user totals', () => {
		const { owner, worker } = sharedJob();
		jobOn(worker).entity.addToCounter(3.5);
		jobOn(owner).entity.addToCounter(2);
		jobOn(worker).entity.addToCounter(-0.5);
		sync(owner, worker);
		for (const r of [owner, worker]) expect(jobOn(r).read()?.hoursLogged).toBe(5);
		expect(Object.fromEntries(jobOn(owner).entity.counterByUser())).toEqual({ ana: 3, owner: 2 });
	});

	it("CNT-2 one user's concurrent increments from two devices are both counted", () => {
		const phone = replica('ana', 'WORKER');
		const laptop: Replica = {
			doc: replica('ana').doc,
			ctx: { ...phone.ctx, writer: { ...phone.ctx.writer, deviceId: 'laptop' } }
		};
		jobOn(phone).create({ title: 'Roof' });
		sync(phone, laptop);
		jobOn(phone).entity.addToCounter(4);
		jobOn(laptop).entity.addToCounter(3);
		sync(phone, laptop);
		expect(jobOn(laptop).read()?.hoursLogged).toBe(7);
	});
});
