import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { encodeDurableAck, isDurable, parseDurableAck } from './durability.ts';
import { DurableClock } from './durable-clock.ts';

function editsOf(doc: Y.Doc, count: number): Uint8Array[] {
	const updates: Uint8Array[] = [];
	const onUpdate = (update: Uint8Array) => updates.push(update);
	doc.on('update', onUpdate);
	for (let i = 0; i < count; i++) doc.getArray('a').push([i]);
	doc.off('update', onUpdate);
	return updates;
}

describe('durability ack (isomorphic helpers)', () => {
	it('round-trips and is ignored for other stateless payloads', () => {
		const doc = new Y.Doc();
		doc.getMap('m').set('x', 1);
		const payload = encodeDurableAck(Y.encodeStateVector(doc));
		expect(JSON.parse(payload)).toMatchObject({ type: 'khs:durable' });
		expect(parseDurableAck(payload)).toEqual(Y.decodeStateVector(Y.encodeStateVector(doc)));
		expect(parseDurableAck('{"type":"khs:denied"}')).toBeNull();
		expect(parseDurableAck('not json')).toBeNull();
	});

	it('isDurable: covered own clock → true; a newer local edit → false', () => {
		const doc = new Y.Doc();
		doc.getMap('m').set('x', 1);
		const payload = encodeDurableAck(Y.encodeStateVector(doc));
		expect(isDurable(doc, payload)).toBe(true);
		expect(isDurable(doc, parseDurableAck(payload) ?? new Map())).toBe(true);
		doc.getMap('m').set('y', 2);
		expect(isDurable(doc, payload)).toBe(false);
		expect(isDurable(new Y.Doc(), encodeDurableAck(Y.encodeStateVector(new Y.Doc())))).toBe(true);
	});
});

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
