import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	type DocRef,
	HybridClock,
	JobDoc,
	MaterialListDoc,
	PrivateNotesDoc,
	type Role,
	type WriteContext
} from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';
import { checkUpdate, type UpdateVerdict } from './update-check.ts';
import { writeCheckDefaults } from './write-rules.ts';

const owner: AuthUser = { id: 'owner-1', name: 'Olga', role: 'OWNER' };
const ana: AuthUser = { id: 'ana-1', name: 'Ana', role: 'WORKER' };
const NOW = 1_800_000_000_000;
const jobId = '00000000-0000-4000-8000-000000000001';
const materialId = '00000000-0000-4000-8000-0000000000aa';

function ctx(user: AuthUser, role: Role = user.role): WriteContext {
	return { writer: { userId: user.id, deviceId: `${user.id}-dev`, role }, clock: new HybridClock(() => NOW) };
}

/** A server document and a client that has synced it; `diff()` is what the client would send. */
function pair(seed: (doc: Y.Doc) => void) {
	const server = new Y.Doc();
	seed(server);
	const client = new Y.Doc();
	Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
	return {
		server,
		client,
		diff: () => Y.encodeStateAsUpdate(client, Y.encodeStateVector(server))
	};
}

const JOB: DocRef = { kind: 'job', id: jobId };
const MATERIALS: DocRef = { kind: 'materials', id: jobId };

function check(server: Y.Doc, ref: DocRef, user: AuthUser, update: Uint8Array, nowMs = NOW): UpdateVerdict {
	return checkUpdate(server, ref, user, update, { nowMs });
}

function jobPair() {
	return pair((doc) =>
		new JobDoc(doc, jobId, ctx(owner)).create({ title: 'Roof', status: 'scheduled' }, NOW)
	);
}

function materialsPair() {
	return pair((doc) =>
		new MaterialListDoc(doc, jobId, ctx(owner)).add({ id: materialId, name: 'Shingles' }, NOW)
	);
}

const stamp = (user: AuthUser, extra: object = {}) => ({
	t: NOW,
	c: 0,
	u: user.id,
	d: 'dev',
	r: user.role,
	...extra
});

describe('checkUpdate: honest edits pass untouched (WRITE-1)', () => {
	it('job edits of every kind by a worker, materials added and edited, private notes', () => {
		const job = jobPair();
		const view = new JobDoc(job.client, jobId, ctx(ana));
		view.entity.set({ status: 'in_progress', title: 'Roof, north side' });
		const note = view.entity.appendNote('ladder is in the van');
		view.entity.setNoteDeleted(note, true);
		view.entity.addToCounter(2.5);
		expect(check(job.server, JOB, ana, job.diff())).toEqual({ ok: true, forbidden: [] });

		const list = materialsPair();
		const materials = new MaterialListDoc(list.client, jobId, ctx(ana));
		const added = materials.add({ name: 'Nails', quantity: 3, unit: 'box' }, NOW);
		added.appendNote('galvanised');
		materials.require(materialId).set({ purchased: true, quantity: 7 });
		materials.require(materialId).remove();
		expect(check(list.server, MATERIALS, ana, list.diff())).toEqual({ ok: true, forbidden: [] });

		const notes = pair(() => {});
		new PrivateNotesDoc(notes.client, jobId, ana.id, ctx(ana)).entity.appendPrivateNote('call the supplier');
		const ref: DocRef = { kind: 'private-notes', id: jobId, userId: ana.id };
		expect(check(notes.server, ref, ana, notes.diff())).toEqual({ ok: true, forbidden: [] });
	});

	it('HLC-3 WRITE-6 a device a day ahead is accepted; past the bound it is not', () => {
		const day = 24 * 60 * 60 * 1000;
		for (const [aheadMs, ok] of [
			[day, true],
			[writeCheckDefaults.maxClockAheadMs, true],
			[writeCheckDefaults.maxClockAheadMs + 1, false]
		] as const) {
			const job = jobPair();
			const ahead: WriteContext = { ...ctx(ana), clock: new HybridClock(() => NOW + aheadMs) };
			new JobDoc(job.client, jobId, ahead).entity.set({ status: 'done' });
			expect(check(job.server, JOB, ana, job.diff()).ok).toBe(ok);
		}
	});
});

describe('checkUpdate: malformed updates are refused whole', () => {
	it('WRITE-8 WRITE-5 forged content inside a new material', () => {
		const forgeries: Record<string, [object, string]> = {
			identity: [{ 'name|f': stamp(owner, { r: 'WORKER', v: 'FORGED: approved by owner' }) }, 'WRITE-5'],
			negative: [{ 'quantity|f': stamp(ana, { v: -5 }) }, 'WRITE-4'],
			wrongType: [{ 'unit|f': stamp(ana, { v: 12 }) }, 'WRITE-4'],
			unknownKey: [{ 'name|f': stamp(ana, { v: 'x', junk: 'x'.repeat(1_000_000) }) }, 'WRITE-4'],
			unknownField: [{ 'colour|f': stamp(ana, { v: 'red' }) }, 'WRITE-3'],
			noteAsOwner: [{ 'notes|+|n': stamp(owner, { x: 'Owner: pay Ana double' }) }, 'WRITE-5']
		};
		for (const [what, [entries, rule]] of Object.entries(forgeries)) {
			const list = materialsPair();
			list.client.transact(() => {
				const map = new Y.Map<unknown>();
				list.client.getMap('materials').set(crypto.randomUUID(), map);
				map.set('createdAt|c', stamp(ana, { v: NOW }));
				for (const [key, value] of Object.entries(entries)) map.set(key, value);
			});
			expect({ what, ...check(list.server, MATERIALS, ana, list.diff()) }).toMatchObject({
				what,
				ok: false,
				rule
			});
		}
	});

	it('WRITE-3 WRITE-4 WRITE-6 junk: a new top-level type, extra keys, huge numbers, a far-future stamp', () => {
		const junk: Record<string, [(doc: Y.Doc) => void, string]> = {
			topLevelText: [(doc) => doc.getText('junk').insert(0, 'x'.repeat(100_000)), 'WRITE-3'],
			topLevelMapEntry: [(doc) => doc.getMap('other').set('title|x', stamp(ana, { v: 'x' })), 'WRITE-3'],
			extraKey: [
				(doc) => doc.getMap('job').set('title|x', stamp(ana, { v: 'x', big: 'y'.repeat(10_000) })),
				'WRITE-4'
			],
			hugeHours: [(doc) => doc.getMap('job').set('hoursLogged|h', stamp(ana, { n: 1e308 })), 'WRITE-4'],
			nanHours: [(doc) => doc.getMap('job').set('hoursLogged|h', stamp(ana, { n: Number.NaN })), 'WRITE-4'],
			farStamp: [
				(doc) => doc.getMap('job').set('title|x', stamp(ana, { t: 8_640_000_000_000_001, v: 'x' })),
				'WRITE-6'
			],
			futureStamp: [
				(doc) => doc.getMap('job').set('title|x', stamp(ana, { t: NOW + 30 * 86_400_000, v: 'x' })),
				'WRITE-6'
			],
			longText: [(doc) => doc.getMap('job').set('title|x', stamp(ana, { v: 'z'.repeat(10_001) })), 'WRITE-4'],
			badKey: [(doc) => doc.getMap('job').set('title|x|y', stamp(ana, { v: 'x' })), 'WRITE-3'],
			nestedType: [(doc) => doc.getMap('job').set('title|x', new Y.Map()), 'WRITE-3'],
			string: [(doc) => doc.getMap('job').set('title|x', 'plain'), 'WRITE-4'],
			otherUser: [(doc) => doc.getMap('job').set('status|x', stamp(owner, { v: 'done' })), 'WRITE-5']
		};
		for (const [what, [write, rule]] of Object.entries(junk)) {
			const job = jobPair();
			write(job.client);
			expect({ what, ...check(job.server, JOB, ana, job.diff()) }).toMatchObject({ what, ok: false, rule });
		}
	});

	it('WRITE-2 incomplete or undecodable updates: a gap in a client, deletions of unknown content, garbage', () => {
		const job = jobPair();
		const view = new JobDoc(job.client, jobId, ctx(ana));
		const before = Y.encodeStateVector(job.client);
		view.entity.set({ status: 'done' });
		const middle = Y.encodeStateVector(job.client);
		view.entity.set({ status: 'on_hold' });
		// The second edit alone, without the first: Yjs would park it in pending structs, unchecked.
		const second = Y.encodeStateAsUpdate(job.client, middle);
		expect(check(job.server, JOB, ana, second)).toMatchObject({ ok: false, rule: 'WRITE-2' });
		expect(check(job.server, JOB, ana, Y.encodeStateAsUpdate(job.client, before)).ok).toBe(true);

		// A delete set naming clocks nobody has written yet (a later write of that client would vanish).
		const forged = Uint8Array.from([0, 1, ...varUint(job.server.clientID), 1, ...varUint(1_000_000), 5]);
		expect(check(job.server, JOB, ana, forged)).toMatchObject({ ok: false, rule: 'WRITE-2' });
		expect(check(job.server, JOB, ana, Uint8Array.of(7, 1, 2, 3, 255, 255))).toMatchObject({ ok: false });
	});
});

describe('checkUpdate: forbidden by role is compensated, never refused (WRITE-7)', () => {
	it('a worker writing deleted, the crew or the customer; a stale owner role; price in the shared job', () => {
		const job = pair((doc) =>
			new JobDoc(doc, jobId, ctx(owner)).create({ title: 'Roof', deleted: false }, NOW)
		);
		const asOwner = new JobDoc(job.client, jobId, ctx(ana, 'OWNER'));
		asOwner.entity.set({ deleted: true });
		asOwner.entity.addMember('ana-1');
		job.client.getMap('job').set('price|p', stamp(ana, { v: 5 }));
		const verdict = check(job.server, JOB, ana, job.diff());
		expect(verdict.ok).toBe(true);
		const fields = verdict.ok ? verdict.forbidden.map((f) => f.refusal.field).sort() : [];
		expect(fields).toEqual(['assignedTo', 'deleted', 'price']);
		// Every forbidden key written is undone, and the entries it replaced come back.
		const undo = verdict.ok ? verdict.forbidden.flatMap((f) => f.undo) : [];
		expect(undo.filter((u) => u.newItem).length).toBe(3);
		expect(undo.some((u) => u.hasOld && !u.newItem)).toBe(true);
	});
});

describe('checkUpdate: a material map is never deleted or replaced (WRITE-3, TOMB-2)', () => {
	// Undoing it would put back a NEW map, and edits other devices made to the old one meanwhile
	// would be collected on arrival: so the update is refused whole, whoever sends it.
	it.each([
		['ana', ana],
		['the owner', owner]
	])('%s deleting a material map outright is refused', (_who, user) => {
		const list = materialsPair();
		list.client.getMap('materials').delete(materialId);
		expect(check(list.server, MATERIALS, user, list.diff())).toMatchObject({ ok: false, rule: 'WRITE-3' });
	});

	it('a new map under an existing material id is refused', () => {
		const list = materialsPair();
		list.client.getMap('materials').set(materialId, new Y.Map());
		expect(check(list.server, MATERIALS, ana, list.diff())).toMatchObject({ ok: false, rule: 'WRITE-3' });
	});
});

function varUint(n: number): number[] {
	const out: number[] = [];
	while (n > 127) {
		out.push((n & 127) | 128);
		n = Math.floor(n / 128);
	}
	out.push(n);
	return out;
}
