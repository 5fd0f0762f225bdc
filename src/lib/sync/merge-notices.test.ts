import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HybridClock } from '$crdt/clock.ts';
import { CustomerDoc, MaterialListDoc } from '$crdt/documents.ts';
import type { WriteContext } from '$crdt/entity.ts';
import type { Role } from '$crdt/writer.ts';
import { mergeNotices, type NoticeContext, SeenNotices } from './merge-notices.ts';

function replica(userId: string, role: Role, now: () => number) {
	const doc = new Y.Doc();
	const ctx: WriteContext = {
		writer: { userId, deviceId: `${userId}-phone`, role },
		clock: new HybridClock(now)
	};
	return { doc, list: new MaterialListDoc(doc, 'job-1', ctx) };
}

const sync = (a: Y.Doc, b: Y.Doc) => {
	Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
	Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
};

const names: Record<string, string> = { ana: 'Ana', olivia: 'Olivia' };

function noticeCtx(userId: string, over: Partial<NoticeContext> = {}): NoticeContext {
	return {
		userId,
		deviceId: `${userId}-phone`,
		nameOf: (id) => names[id],
		wasOffline: () => false,
		now: 1_000_000,
		offlineWriteAgeMs: 10_000,
		...over
	};
}

describe('merge notices', () => {
	it('tells the owner why their lower quantity and un-tick did not stand (e2e scenario 2)', () => {
		let t = 1000;
		const owner = replica('olivia', 'OWNER', () => t);
		const ana = replica('ana', 'WORKER', () => t);
		const m = owner.list.add({ id: 'm1', name: 'Shingles', quantity: 5 });
		sync(owner.doc, ana.doc);
		t = 2000;
		ana.list.require(m.id).set({ quantity: 8, purchased: true });
		t = 3000;
		owner.list.require(m.id).set({ quantity: 3 });
		owner.list.require(m.id).set({ purchased: true });
		owner.list.require(m.id).set({ purchased: false });
		sync(owner.doc, ana.doc);

		const entities = owner.list.ids().map((id) => owner.list.require(id));
		const texts = mergeNotices(entities, noticeCtx('olivia')).map((n) => n.text);
		expect(texts).toEqual([
			'Quantity is 8, not 3: Ana raised it while working offline. The higher amount is kept.',
			'Purchased is ticked: Ana ticked it while working offline. A tick wins over an un-tick when neither saw the other.'
		]);
		// Both sides are told: Ana's values stood over the owner's, and she hears so too.
		const anaEntities = ana.list.ids().map((id) => ana.list.require(id));
		const anaNotices = mergeNotices(anaEntities, noticeCtx('ana'));
		expect(anaNotices.map((n) => n.text)).toEqual([
			'Quantity is 8: your change was kept over Olivia’s 3, made while working offline. The higher amount is kept.',
			'Purchased is ticked: your change was kept over Olivia’s not ticked, made while working offline. A tick wins over an un-tick when neither saw the other.'
		]);
		expect(anaNotices.map((n) => n.side)).toEqual(['kept', 'kept']);
	});

	it('says "while you were offline" when my write was made offline', () => {
		let t = 1000;
		const owner = replica('olivia', 'OWNER', () => t);
		const ana = replica('ana', 'WORKER', () => t);
		owner.list.add({ id: 'm1', name: 'Nails', quantity: 5 });
		sync(owner.doc, ana.doc);
		ana.list.require('m1').set({ quantity: 6 });
		t = 1500;
		owner.list.require('m1').set({ quantity: 12 });
		sync(owner.doc, ana.doc);
		const [notice] = mergeNotices(
			[ana.list.require('m1')],
			noticeCtx('ana', { wasOffline: () => true, now: 1600 })
		);
		expect(notice?.text).toBe(
			'Quantity is 12, not 6: Olivia raised it while you were offline. The higher amount is kept.'
		);
	});

	it('says the other side was offline when the concurrent writes are seconds apart', () => {
		let t = 1000;
		const owner = replica('olivia', 'OWNER', () => t);
		const ana = replica('ana', 'WORKER', () => t);
		owner.list.add({ id: 'm1', name: 'Nails', quantity: 5 });
		sync(owner.doc, ana.doc);
		ana.list.require('m1').set({ quantity: 8 });
		t = 9000;
		owner.list.require('m1').set({ quantity: 3 });
		sync(owner.doc, ana.doc);
		const [notice] = mergeNotices([owner.list.require('m1')], noticeCtx('olivia', { now: 9100 }));
		expect(notice?.text).toBe(
			'Quantity is 8, not 3: Ana raised it while working offline. The higher amount is kept.'
		);
	});

	it('tells the true time between the two changes, never "at the same time" for minutes apart', () => {
		let t = 1_000_000;
		const owner = replica('olivia', 'OWNER', () => t);
		const ana = replica('ana', 'WORKER', () => t);
		owner.list.add({ id: 'm1', name: 'Nails', quantity: 5 });
		sync(owner.doc, ana.doc);
		ana.list.require('m1').set({ quantity: 8 });
		t += 4 * 60_000;
		owner.list.require('m1').set({ quantity: 3 });
		sync(owner.doc, ana.doc);
		const [notice] = mergeNotices([owner.list.require('m1')], noticeCtx('olivia', { now: t + 100 }));
		expect(notice?.text).toBe(
			'Quantity is 8, not 3: Ana raised it while working offline, 4 min before your change. The higher amount is kept.'
		);
		expect(notice?.text).not.toContain('at the same time');
	});

	it('leaves USER_CHOICE conflicts to the inbox', () => {
		const t = 1000;
		const a = new Y.Doc();
		const b = new Y.Doc();
		const ctxA: WriteContext = {
			writer: { userId: 'olivia', deviceId: 'olivia-phone', role: 'OWNER' },
			clock: new HybridClock(() => t)
		};
		const ctxB: WriteContext = {
			writer: { userId: 'olivia', deviceId: 'laptop', role: 'OWNER' },
			clock: new HybridClock(() => t + 1)
		};
		const ca = new CustomerDoc(a, 'c1', ctxA);
		ca.create({ name: 'Acme' });
		sync(a, b);
		ca.entity.set({ phone: '111' });
		new CustomerDoc(b, 'c1', ctxB).entity.set({ phone: '222' });
		sync(a, b);
		expect(ca.conflicts()[0]?.needsChoice).toBe(true);
		expect(mergeNotices([ca.entity], noticeCtx('olivia'))).toEqual([]);
	});

	it('shows each merge once, across reloads', () => {
		const items = new Map<string, string>();
		const storage = {
			getItem: (k: string) => items.get(k) ?? null,
			setItem: (k: string, v: string) => void items.set(k, v)
		} as unknown as Storage;
		expect(new SeenNotices(storage).firstTime('x')).toBe(true);
		expect(new SeenNotices(storage).firstTime('x')).toBe(false);
	});
});
