import { HocuspocusProvider } from '@hocuspocus/provider';
import { type Extension, Server } from '@hocuspocus/server';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	HybridClock,
	JobDoc,
	MaterialListDoc,
	PrivateNotesDoc,
	privateNotesDocName,
	type Role,
	type WriteContext
} from '../../crdt/index.ts';
import type { RejectedMessage } from '../../wire/durability.ts';
import type { AuthUser } from '../auth/roles.ts';
import { createWriteGuardExtension, malformedUpdateClose } from './write-guard.ts';

const USERS: Record<string, AuthUser> = {
	owner: { id: 'owner-1', name: 'Olga', role: 'OWNER' },
	ana: { id: 'ana-1', name: 'Ana', role: 'WORKER' },
	ben: { id: 'ben-1', name: 'Ben', role: 'WORKER' }
};
const TIMEOUT_MS = 5_000;

/** Test-only authentication: the token is the user's key. Real token checks are tested in server/auth. */
const tokenAuth: Extension = {
	extensionName: 'test-auth',
	priority: 1000,
	async onAuthenticate({ token }) {
		const user = USERS[token];
		if (!user) throw new Error('unknown test user');
		return { user };
	}
};

let server: Server;
let url: string;

beforeAll(async () => {
	server = new Server({
		port: 0,
		address: '127.0.0.1',
		quiet: true,
		extensions: [tokenAuth, createWriteGuardExtension({ logger: pino({ level: 'silent' }) })]
	});
	await server.listen();
	url = `ws://127.0.0.1:${server.address.port}`;
});

afterAll(async () => {
	await server.destroy();
});

interface Client {
	doc: Y.Doc;
	provider: HocuspocusProvider;
	ctx: WriteContext;
	rejections: RejectedMessage[];
}

async function connect(
	name: string,
	token: string,
	role: Role = USERS[token]?.role ?? 'WORKER'
): Promise<Client> {
	const doc = new Y.Doc();
	const rejections: RejectedMessage[] = [];
	const user = USERS[token] as AuthUser;
	const provider = new HocuspocusProvider({
		url,
		name,
		document: doc,
		token,
		onStateless: ({ payload }) => rejections.push(JSON.parse(payload) as RejectedMessage)
	});
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${token} never synced ${name}`)), TIMEOUT_MS);
		provider.on('synced', () => {
			clearTimeout(timer);
			resolve();
		});
	});
	return {
		doc,
		provider,
		rejections,
		ctx: { writer: { userId: user.id, deviceId: `${token}-dev`, role }, clock: new HybridClock() }
	};
}

/** Resolves once `check` holds on `doc`, re-checking on every update; rejects after a timeout. */
function until(doc: Y.Doc, check: () => boolean, what: string): Promise<void> {
	if (check()) return Promise.resolve();
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			doc.off('update', onUpdate);
			reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(doc.toJSON())}`));
		}, TIMEOUT_MS);
		const onUpdate = () => {
			if (!check()) return;
			clearTimeout(timer);
			doc.off('update', onUpdate);
			resolve();
		};
		doc.on('update', onUpdate);
	});
}

function untilRejected(client: Client, field: string): Promise<RejectedMessage> {
	const found = () => client.rejections.find((r) => r.field === field);
	const hit = found();
	if (hit) return Promise.resolve(hit);
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			client.provider.off('stateless', check);
			reject(new Error(`no rejection for ${field}`));
		}, TIMEOUT_MS);
		// Our onStateless handler was registered first, so `rejections` is current here.
		const check = () => {
			const rejection = found();
			if (!rejection) return;
			clearTimeout(timer);
			client.provider.off('stateless', check);
			resolve(rejection);
		};
		client.provider.on('stateless', check);
	});
}

describe('field-level write rules on the server', () => {
	it('AUD-2 a price written into the shared job document is undone everywhere, the writer told why', async () => {
		const jobId = crypto.randomUUID();
		const owner = await connect(`job:${jobId}`, 'owner');
		const ownerJob = new JobDoc(owner.doc, jobId, owner.ctx);
		ownerJob.create({ title: 'Roof', status: 'scheduled' });
		const ana = await connect(`job:${jobId}`, 'ana');
		const anaJob = new JobDoc(ana.doc, jobId, ana.ctx);
		await until(ana.doc, () => anaJob.read()?.title === 'Roof', 'job to reach ana');
		// The views refuse price on `job:` (it lives in `job-owner:`), so write it as a raw client would.
		ana.doc.transact(() => {
			ana.doc.getMap('job').set('price|forged', { t: 1, c: 0, u: 'ana-1', d: 'x', r: 'WORKER', v: 5 });
			anaJob.entity.set({ status: 'in_progress' });
		});
		const rejection = await untilRejected(ana, 'price');
		expect(rejection.message).toMatch(/no field "price"/);
		await until(owner.doc, () => ownerJob.read()?.status === 'in_progress', 'status to reach owner');
		await until(ana.doc, () => !ana.doc.getMap('job').has('price|forged'), 'price undone on ana');
		expect(owner.doc.getMap('job').has('price|forged')).toBe(false);
		expect(anaJob.read()).toEqual(ownerJob.read());
		owner.provider.destroy();
		ana.provider.destroy();
	});

	it('a worker cannot claim the owner role, assign crews or write private notes into the job', async () => {
		const jobId = crypto.randomUUID();
		const owner = await connect(`job:${jobId}`, 'owner');
		const ownerJob = new JobDoc(owner.doc, jobId, owner.ctx);
		ownerJob.create({ title: 'Roof', status: 'scheduled' });
		const impostor = await connect(`job:${jobId}`, 'ana', 'OWNER');
		const job = new JobDoc(impostor.doc, jobId, impostor.ctx);
		await until(impostor.doc, () => job.read()?.title === 'Roof', 'job to reach ana');
		job.entity.set({ status: 'cancelled' });
		await untilRejected(impostor, 'status');
		job.entity.addMember('ana-1');
		await untilRejected(impostor, 'assignedTo');
		impostor.doc
			.getMap('job')
			.set('privateNotes|owner-1|+|forged', { t: 1, c: 0, u: 'ana-1', d: 'x', r: 'WORKER', x: 'forged' });
		await untilRejected(impostor, 'privateNotes');
		await until(
			impostor.doc,
			() =>
				job.read()?.status === 'scheduled' &&
				String(job.read()?.assignedTo) === '' &&
				!impostor.doc.getMap('job').has('privateNotes|owner-1|+|forged'),
			'undo'
		);
		expect(ownerJob.read()).toMatchObject({ status: 'scheduled', assignedTo: [] });
		expect(owner.doc.getMap('job').has('privateNotes|owner-1|+|forged')).toBe(false);
		owner.provider.destroy();
		impostor.provider.destroy();
	});

	it("NOTE-4 in a private-notes document, only the author's own scope takes writes", async () => {
		const jobId = crypto.randomUUID();
		// The guard checks the writer's scope; which user may open the document is access's (ACC-2).
		const name = privateNotesDocName(jobId, crypto.randomUUID());
		const ana = await connect(name, 'ana');
		const notes = new PrivateNotesDoc(ana.doc, jobId, 'ana-1', ana.ctx);
		notes.entity.appendPrivateNote('call my supplier');
		ana.doc
			.getMap('privateNotes')
			.set('privateNotes|owner-1|+|forged', { t: 1, c: 0, u: 'ana-1', d: 'x', r: 'WORKER', x: 'forged' });
		await untilRejected(ana, 'privateNotes');
		await until(ana.doc, () => !ana.doc.getMap('privateNotes').has('privateNotes|owner-1|+|forged'), 'undo');
		expect(notes.entity.privateNotes('ana-1').map((n) => n.text)).toEqual(['call my supplier']);
		ana.provider.destroy();
	});

	it('TOMB-2 a material map deleted outright is refused whole, and an edit made meanwhile elsewhere is kept', async () => {
		const jobId = crypto.randomUUID();
		const name = `materials:${jobId}`;
		const ana = await connect(name, 'ana');
		const list = new MaterialListDoc(ana.doc, jobId, ana.ctx);
		const material = list.add({ name: 'Shingles', quantity: 5 });
		material.appendNote('grey');
		const owner = await connect(name, 'owner');
		const ownerList = new MaterialListDoc(owner.doc, jobId, owner.ctx);
		await until(owner.doc, () => ownerList.read(material.id)?.notes === 'grey', 'material to reach owner');
		// Keeps the document loaded on the server while the others are away.
		const watcher = await connect(name, 'owner');
		// The owner edits the material offline while Ana's raw client deletes its map.
		owner.provider.disconnect();
		ownerList.require(material.id).set({ quantity: 8 });
		const closed = new Promise<number>((resolve) =>
			ana.provider.on('close', ({ event }: { event: { code: number } }) => resolve(event.code))
		);
		ana.doc.getMap('materials').delete(material.id);
		expect(await closed).toBe(malformedUpdateClose.code);
		ana.provider.destroy();
		await owner.provider.connect();
		const watched = new MaterialListDoc(watcher.doc, jobId, watcher.ctx);
		await until(watcher.doc, () => watched.read(material.id)?.quantity === 8, 'the offline edit to arrive');
		expect(watched.read(material.id)).toMatchObject({
			name: 'Shingles',
			quantity: 8,
			notes: 'grey',
			deleted: false
		});
		owner.provider.destroy();
		watcher.provider.destroy();
	});

	it('WRITE-7 a forbidden value never reaches another replica, not even for one transaction', async () => {
		const jobId = crypto.randomUUID();
		const owner = await connect(`job:${jobId}`, 'owner');
		const ownerJob = new JobDoc(owner.doc, jobId, owner.ctx);
		ownerJob.create({ title: 'Roof', status: 'scheduled' });
		const ben = await connect(`job:${jobId}`, 'ben');
		const benJob = new JobDoc(ben.doc, jobId, ben.ctx);
		const ana = await connect(`job:${jobId}`, 'ana');
		const anaJob = new JobDoc(ana.doc, jobId, ana.ctx);
		await until(ben.doc, () => benJob.read()?.title === 'Roof', 'job to reach ben');
		await until(ana.doc, () => anaJob.read()?.title === 'Roof', 'job to reach ana');
		const seen: unknown[] = [];
		owner.doc.on('afterTransaction', () => seen.push(ownerJob.read()?.deleted));
		ben.doc.on('afterTransaction', () => seen.push(benJob.read()?.deleted));
		// A stale client: the views refuse `deleted` to a worker, so write it as a raw client would.
		ana.doc.transact(() => {
			anaJob.entity.map.set('deleted|forged', {
				t: Date.now(),
				c: 0,
				u: 'ana-1',
				d: 'x',
				r: 'WORKER',
				v: true
			});
			anaJob.entity.set({ status: 'in_progress' });
		});
		expect((await untilRejected(ana, 'deleted')).message).toMatch(/only the owner/);
		await until(owner.doc, () => ownerJob.read()?.status === 'in_progress', 'status to reach owner');
		await until(ben.doc, () => benJob.read()?.status === 'in_progress', 'status to reach ben');
		await until(ana.doc, () => anaJob.read()?.deleted === false, 'deleted undone on ana');
		expect(seen.length).toBeGreaterThan(0);
		expect(seen.filter((deleted) => deleted !== false)).toEqual([]);
		for (const client of [owner, ben, ana]) client.provider.destroy();
	});

	it('WRITE-1 a malformed update is refused whole: nothing applied or relayed, the socket closed with 1008', async () => {
		const jobId = crypto.randomUUID();
		const name = `materials:${jobId}`;
		const owner = await connect(name, 'owner');
		const ownerList = new MaterialListDoc(owner.doc, jobId, owner.ctx);
		const material = ownerList.add({ name: 'Shingles', quantity: 5 });
		const ana = await connect(name, 'ana');
		const list = new MaterialListDoc(ana.doc, jobId, ana.ctx);
		await until(ana.doc, () => list.read(material.id)?.name === 'Shingles', 'material to reach ana');
		const closed = new Promise<number>((resolve) =>
			ana.provider.on('close', ({ event }: { event: { code: number } }) => resolve(event.code))
		);
		ana.doc.transact(() => {
			list.require(material.id).set({ quantity: 9 });
			list
				.require(material.id)
				.map.set('quantity|bad', { t: Date.now(), c: 0, u: 'ana-1', d: 'x', r: 'WORKER', v: 'lots' });
		});
		expect(await closed).toBe(malformedUpdateClose.code);
		ana.provider.destroy();
		const stored = server.hocuspocus.documents.get(name);
		const serverList = new MaterialListDoc(stored as Y.Doc, jobId, owner.ctx);
		expect(serverList.read(material.id)?.quantity).toBe(5);
		expect(serverList.require(material.id).map.has('quantity|bad')).toBe(false);
		// The owner's own next edit comes back from the server; anything relayed before it would too.
		ownerList.require(material.id).set({ unit: 'pack' });
		await until(stored as Y.Doc, () => serverList.read(material.id)?.unit === 'pack', 'owner edit stored');
		expect(ownerList.read(material.id)?.quantity).toBe(5);
		owner.provider.destroy();
	});
});
