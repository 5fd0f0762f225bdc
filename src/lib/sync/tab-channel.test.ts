import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { connectTabs, TAB_ORIGIN } from './tab-channel.ts';

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('tab channel', () => {
	it("relays one tab's edits to another tab of the same document", async () => {
		const a = new Y.Doc();
		const b = new Y.Doc();
		const closeA = connectTabs('materials:x', a);
		const closeB = connectTabs('materials:x', b);
		a.getMap('m').set('k', 1);
		await settle();
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
		const closeB = connectTabs('job:y', b);
		await settle();
		expect(b.getMap('m').get('before')).toBe(true);
		expect(origins).toEqual([TAB_ORIGIN]);
		closeA();
		closeB();
	});

	it('keeps documents of different names apart', async () => {
		const a = new Y.Doc();
		const b = new Y.Doc();
		const closeA = connectTabs('job:1', a);
		const closeB = connectTabs('job:2', b);
		a.getMap('m').set('k', 1);
		await settle();
		expect(b.getMap('m').has('k')).toBe(false);
		closeA();
		closeB();
	});
});
