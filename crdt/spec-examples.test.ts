import { describe, expect, it } from 'vitest';
import { CustomerDoc, JobDoc, MaterialListDoc } from './documents.ts';
import { type Replica, replica, sync } from './test-support.ts';

/**
 * The spec's own examples (seed "Special Case Handling", "CRDTCounter", "fieldLevelMerge"), each
 * replayed as two Yjs replicas that edit offline and then sync — the client/server pair of the spec.
 */
const JOB_ID = '00000000-0000-4000-8000-000000000050';
const CUSTOMER_ID = '00000000-0000-4000-8000-000000000051';

function clientAndServer(): { client: Replica; server: Replica } {
	let wall = 10_000;
	const tick = () => wall++;
	return { client: replica('ana', 'WORKER', tick), server: replica('owner', 'OWNER', tick) };
}

describe('spec example: MaterialConflictResolver.resolveMaterialConflicts', () => {
	it('MAT-1 MAT-2 MAT-4 MAT-6 MAT-7 union by id; purchased OR; quantity max; notes concatenated; updatedAt max', () => {
		const { client, server } = clientAndServer();
		const serverList = new MaterialListDoc(server.doc, JOB_ID, server.ctx);
		const shared = serverList.add({ name: 'Shingles', quantity: 10, unit: 'bundle', purchased: false });
		shared.appendNote('server note');
		sync(client, server);
		const clientList = new MaterialListDoc(client.doc, JOB_ID, client.ctx);
		// Offline on both sides:
		clientList.require(shared.id).set({ quantity: 14, purchased: true });
		clientList.require(shared.id).appendNote('client note');
		const clientOnly = clientList.add({ name: 'Ridge caps', quantity: 2 });
		serverList.require(shared.id).set({ quantity: 12, purchased: false });
		const serverUpdatedAt = Number(serverList.read(shared.id)?.updatedAt);
		const clientUpdatedAt = Number(clientList.read(shared.id)?.updatedAt);
		sync(client, server);
		const merged = serverList.read(shared.id);
		expect(merged).toMatchObject({ quantity: 14, purchased: true, name: 'Shingles', unit: 'bundle' });
		expect(merged?.notes).toBe('server note\n---\nclient note');
		expect(merged?.updatedAt).toBe(Math.max(serverUpdatedAt, clientUpdatedAt));
		expect(serverList.read(clientOnly.id)?.name).toBe('Ridge caps');
		expect(clientList.list()).toEqual(serverList.list());
	});
});

describe('spec example: JobAssignmentResolver.resolveAssignmentConflicts', () => {
	function assignedBoth(clientMembers: string[], serverMembers: string[]) {
		const { client, server } = clientAndServer();
		const serverJob = new JobDoc(server.doc, JOB_ID, server.ctx);
		serverJob.create({ title: 'Roof' });
		sync(client, server);
		const clientJob = new JobDoc(client.doc, JOB_ID, client.ctx);
		for (const m of clientMembers) clientJob.entity.addMember(m);
		for (const m of serverMembers) serverJob.entity.addMember(m);
		return { client, server, clientJob, serverJob };
	}

	it('ASG-1 add: the union of both sets', () => {
		const { client, server, serverJob } = assignedBoth(['ana', 'ben'], ['ben', 'cy']);
		sync(client, server);
		expect(serverJob.read()?.assignedTo).toEqual(['ana', 'ben', 'cy']);
	});

	it('ASG-2 remove: client removals leave the server set', () => {
		const { client, server, clientJob, serverJob } = assignedBoth([], ['ana', 'ben', 'cy']);
		sync(client, server);
		clientJob.entity.removeMember('ben');
		sync(client, server);
		expect(serverJob.read()?.assignedTo).toEqual(['ana', 'cy']);
	});

	it('ASG-3 replace: the owner sets the crew outright', () => {
		const { client, server, serverJob } = assignedBoth([], ['ana', 'ben']);
		sync(client, server);
		serverJob.entity.replaceMembers(['dee']);
		sync(client, server);
		expect(new JobDoc(client.doc, JOB_ID, client.ctx).read()?.assignedTo).toEqual(['dee']);
	});
});

describe('spec example: CRDTCounter', () => {
	it('CNT-1 increment per user, merge, getValue sums', () => {
		const { client, server } = clientAndServer();
		const serverJob = new JobDoc(server.doc, JOB_ID, server.ctx);
		serverJob.create({ title: 'Roof' });
		sync(client, server);
		new JobDoc(client.doc, JOB_ID, client.ctx).entity.addToCounter(1);
		new JobDoc(client.doc, JOB_ID, client.ctx).entity.addToCounter(2);
		serverJob.entity.addToCounter(5);
		sync(client, server);
		sync(client, server); // merging twice changes nothing
		expect(serverJob.read()?.hoursLogged).toBe(8);
		expect(Object.fromEntries(serverJob.entity.counterByUser())).toEqual({ ana: 3, owner: 5 });
	});
});

describe('spec example: ConflictResolver.fieldLevelMerge', () => {
	it('FM-1 non-conflicting fields merge, conflicting ones are reported', () => {
		const { client, server } = clientAndServer();
		const serverCustomer = new CustomerDoc(server.doc, CUSTOMER_ID, server.ctx);
		serverCustomer.create({ name: 'Kim', phone: '555-0100', email: 'kim@x.test', address: 'Main St' });
		sync(client, server);
		const clientCustomer = new CustomerDoc(client.doc, CUSTOMER_ID, client.ctx);
		clientCustomer.entity.set({ name: 'Kim Lee', phone: '555-0199' }); // client modified, server did not: name
		serverCustomer.entity.set({ address: 'Elm St', phone: '555-0111' }); // both modified differently: phone
		sync(client, server);
		expect(serverCustomer.read()).toMatchObject({ name: 'Kim Lee', address: 'Elm St', email: 'kim@x.test' });
		const conflicts = serverCustomer.conflicts();
		expect(conflicts.map((c) => c.field)).toEqual(['phone']);
		expect([...(conflicts[0]?.values ?? [])].sort()).toEqual(['555-0111', '555-0199']);
	});
});
