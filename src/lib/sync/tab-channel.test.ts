import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { connectTabs, TAB_ORIGIN } from './tab-channel.ts';

/** Resolves on the next update `doc` receives from another tab; rejects after a timeout. */
function nextTabUpdate(doc: Y.Doc, timeoutMs = 2_000): Promise<void> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			doc.off('update', onUpdate);
			reject(new Error('no update arrived from the other tab'));
		}, timeoutMs);
		const onUpdate = (_update: Uint8Array, origin: unknown) => {
			if (origin !== TAB_ORIGIN) return;
			clearTimeout(timer);
			doc.off('update', onUpdate);
			resolve();
		};
		doc.on('update', onUpdate);
	});
}

describe('tab channel', () => {
	it("relays one tab's edits to another tab of the same document", async () => {
		const a = new Y.Doc();
		const b = new Y.Doc();
		const closeA = connectTabs('materials:x', a);
		const closeB = connectTabs('materials:x', b);
		const arrived = nextTabUpdate(b);
		a.getMap('m').set('k', 1);
		await arrived;
		expect(b.getMap('m').get('k')).toBe(1);
		closeA();
		closeB();
	});

	it('catches a newly opened tab up with what the open tab already has', async () => {
		const a = new Y.Doc();
		a.getMap('m').set('before', true);
		const closeA = connectTabs('job:y', a);
		const b = new Y.Doc();
		const origins: unknown[] = [];
		b.on('update', (_u: Uint8Array, origin: unknown) => origins.push(origin));
		const arrived = nextTabUpdate(b);
		const closeB = connectTabs('job:y', b);
		await arrived;
		expect(b.getMap('m').get('before')).toBe(true);
		expect(origins).toEqual([TAB_ORIGIN]);
		closeA();
		closeB();
	});

	it('keeps documents of different names apart', async () => {
		const a = new Y.Doc();
		const sameName = new Y.Doc();
		const otherName = new Y.Doc();
		const closers = [
			connectTabs('job:1', a),
			connectTabs('job:1', sameName),
			connectTabs('job:2', otherName)
		];
		const arrived = nextTabUpdate(sameName);
		a.getMap('m').set('k', 1);
		// Checked once the edit has been delivered: a shared channel would have delivered it to both.
		await arrived;
		expect(sameName.getMap('m').get('k')).toBe(1);
		expect(otherName.getMap('m').has('k')).toBe(false);
		for (const close of closers) close();
	});
});
