import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DurableClock } from './durable-clock.ts';

function editsOf(doc: Y.Doc, count: number): Uint8Array[] {
	const updates: Uint8Array[] = [];
	const onUpdate = (update: Uint8Array) => updates.push(update);
	doc.on('update', onUpdate);
	for (let i = 0; i < count; i++) doc.getArray('a').push([i]);
	doc.off('update', onUpdate);
	return updates;
}

describe('DurableClock', () => {
	it('advances only over a contiguous prefix, whatever order commits arrive in', () => {
		const doc = new Y.Doc();
		const [u1, u2, u3] = editsOf(doc, 3).map((u) => Y.parseUpdateMeta(u));
		const clock = new DurableClock();
		clock.add(u3 as ReturnType<typeof Y.parseUpdateMeta>);
		expect(clock.get(doc.clientID)).toBe(0);
		clock.add(u1 as ReturnType<typeof Y.parseUpdateMeta>);
		expect(clock.get(doc.clientID)).toBe(1);
		clock.add(u2 as ReturnType<typeof Y.parseUpdateMeta>);
		expect(clock.get(doc.clientID)).toBe(3);
		expect(Y.decodeStateVector(clock.encode())).toEqual(Y.decodeStateVector(Y.encodeStateVector(doc)));
	});

	it('starts from the loaded state vector', () => {
		const doc = new Y.Doc();
		editsOf(doc, 2);
		const clock = new DurableClock(Y.decodeStateVector(Y.encodeStateVector(doc)));
		const [next] = editsOf(doc, 1).map((u) => Y.parseUpdateMeta(u));
		expect(clock.get(doc.clientID)).toBe(2);
		clock.add(next as ReturnType<typeof Y.parseUpdateMeta>);
		expect(clock.get(doc.clientID)).toBe(3);
	});
});
