import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { seededRandom, testSeed } from '../tests/support/random.ts';
import { JobDoc, MaterialListDoc } from './documents.ts';
import type { Entity } from './entity.ts';
import { type Replica, replica } from './test-support.ts';

/**
 * The per-map index (map-index.ts) caches reads between transactions and patches them from Yjs's
 * record of what changed. Every read here is checked against the same read of a fresh copy of the
 * document, which has no cache: in observers during the cleanup of the transaction that changed the
 * map, inside transactions after a write, after out-of-order remote updates, undo/redo (which writes
 * a deleted key again) and a deleted material map (SPEC CONV-1: reads depend only on the document).
 */
const JOB_ID = '00000000-0000-4000-8000-0000000000c1';
const STEPS = 400;

interface Peer {
	readonly replica: Replica;
	readonly list: MaterialListDoc;
	readonly job: JobDoc;
	readonly undo: Y.UndoManager;
	inbox: Uint8Array[];
}

/** Everything the views show, read through `doc`'s views. */
function readAll(doc: Y.Doc, ctx: Replica['ctx']) {
	const list = new MaterialListDoc(doc, JOB_ID, ctx);
	const job = new JobDoc(doc, JOB_ID, ctx);
	return {
		materials: list.list(),
		notes: list.ids().map((id) => list.get(id)?.notes()),
		conflicts: list.conflicts(),
		job: job.read(),
		jobConflicts: job.conflicts()
	};
}

/** The same read of a copy of `doc` made now: a document no read has cached anything of. */
function readFresh(doc: Y.Doc, ctx: Replica['ctx']) {
	const copy = new Y.Doc();
	Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
	return readAll(copy, ctx);
}

describe('map index', () => {
	it('CONV-1 cached reads equal uncached reads through local, remote, undone and observed changes', () => {
		const seed = testSeed();
		console.log(`map index: seed ${seed} (TEST_SEED=${seed} to replay)`);
		const random = seededRandom(seed);
		const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
		const peers: Peer[] = ['OWNER', 'WORKER', 'WORKER'].map((role, i) => {
			const r = replica(`user${i}`, role as 'OWNER' | 'WORKER');
			r.doc.clientID = 100 + i;
			const origin = { peer: i };
			const ctx = { ...r.ctx, origin };
			const undo = new Y.UndoManager(r.doc.getMap('materials'), { trackedOrigins: new Set([origin]) });
			return {
				replica: { doc: r.doc, ctx },
				list: new MaterialListDoc(r.doc, JOB_ID, ctx),
				job: new JobDoc(r.doc, JOB_ID, ctx),
				undo,
				inbox: []
			};
		});
		let observedReads = 0;
		for (const [i, peer] of peers.entries()) {
			const { doc, ctx } = peer.replica;
			doc.on('update', (update: Uint8Array, origin: unknown) => {
				if (origin === 'remote') return;
				for (const [j, other] of peers.entries()) if (j !== i) other.inbox.push(update);
			});
			// Registered before any read, so it runs before the cache has seen the transaction end.
			doc.getMap('materials').observeDeep(() => {
				if (random() < 0.3) {
					expect(readAll(doc, ctx)).toEqual(readFresh(doc, ctx));
					observedReads++;
				}
			});
		}
		const first = peers[0] as Peer;
		first.job.create({ title: 'Roof', status: 'scheduled' });
		for (let i = 0; i < 4; i++) first.list.add({ name: `m${i}`, quantity: i, unit: 'pcs' });

		const material = (peer: Peer): Entity | undefined => {
			const ids = peer.list.ids();
			return ids.length ? peer.list.get(pick(ids)) : undefined;
		};
		for (let step = 0; step < STEPS; step++) {
			const peer = pick(peers);
			const { doc, ctx } = peer.replica;
			const roll = random();
			const m = material(peer);
			if (roll < 0.3 && peer.inbox.length > 0) {
				// Any pending update, not the oldest: Yjs holds back what it cannot integrate yet.
				const at = Math.floor(random() * peer.inbox.length);
				const [update] = peer.inbox.splice(at, 1);
				Y.applyUpdate(doc, update as Uint8Array, 'remote');
			} else if (roll < 0.5 && m) {
				m.set(pick([{ quantity: Math.floor(random() * 9) }, { purchased: random() < 0.5 }, { name: 'x' }]));
			} else if (roll < 0.6 && m) {
				// Reads inside the transaction, before and after it writes the same map.
				doc.transact(() => {
					expect(readAll(doc, ctx)).toEqual(readFresh(doc, ctx));
					m.set({ quantity: Math.floor(random() * 9), unit: pick(['m', 'kg']) });
					expect(readAll(doc, ctx)).toEqual(readFresh(doc, ctx));
					m.appendNote('inside');
					expect({ ...m.toJSON(), jobId: JOB_ID }).toEqual(
						readFresh(doc, ctx).materials.find((j) => j.id === m.id)
					);
				}, ctx.origin);
			} else if (roll < 0.68 && m) {
				const note = m.notes()[0];
				if (note && random() < 0.5) m.setNoteDeleted(note.id, !note.deleted);
				else m.appendNote(pick(['a', 'b']));
			} else if (roll < 0.74 && m) {
				if (m.get('deleted') === true) m.restore();
				else m.remove();
			} else if (roll < 0.82) {
				if (random() < 0.5) peer.undo.undo();
				else peer.undo.redo();
			} else if (roll < 0.9 && peer.job.exists() && ctx.writer.role === 'OWNER') {
				const who = pick(['w1', 'w2', 'w3']);
				if (random() < 0.5) peer.job.entity.addMember(who);
				else peer.job.entity.removeMember(who);
			} else if (roll < 0.95 && peer.job.exists()) {
				peer.job.entity.set({ title: pick(['Roof', 'Gutter']) });
			} else if (peer.list.ids().length < 12) {
				peer.list.add({ name: 'new', quantity: 1 });
			}
			expect(readAll(doc, ctx)).toEqual(readFresh(doc, ctx));
		}
		for (const peer of peers)
			for (const update of peer.inbox.splice(0)) Y.applyUpdate(peer.replica.doc, update, 'remote');
		const [a, ...rest] = peers.map((p) => readAll(p.replica.doc, p.replica.ctx));
		for (const other of rest) expect(other).toEqual(a);
		expect(observedReads).toBeGreaterThan(0);
	});

	it('a held entity whose material map was deleted reads as empty, as before it was cached', () => {
		const r = replica('owner', 'OWNER');
		const list = new MaterialListDoc(r.doc, JOB_ID, r.ctx);
		const held = list.add({ name: 'Nails', quantity: 3 });
		expect(held.toJSON().name).toBe('Nails');
		r.doc.getMap('materials').delete(held.id);
		expect(held.get('name')).toBe('');
		expect(held.toJSON()).toMatchObject({ name: '', quantity: 0, updatedAt: 0 });
	});
});
