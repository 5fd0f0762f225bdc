import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	decodeBase64StateVector,
	encodeBase64StateVector,
	encodeDurableAck,
	encodeRejected,
	isDurable,
	parseDurableAck,
	parseServerMessage
} from './durability.ts';

describe('durability ack (one wire shape for server and browser)', () => {
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

	it('is durable exactly when the server state vector covers our clock', () => {
		const client = new Y.Doc();
		const server = new Y.Doc();
		client.getMap('m').set('a', 1);
		Y.applyUpdate(server, Y.encodeStateAsUpdate(client));
		const sv = decodeBase64StateVector(encodeBase64StateVector(Y.encodeStateVector(server)));
		expect(isDurable(client, sv)).toBe(true);
		client.getMap('m').set('b', 2);
		expect(isDurable(client, sv)).toBe(false);
	});
});

describe('server messages as a client reads them', () => {
	it('parses the server messages and ignores anything else', () => {
		const sv = encodeBase64StateVector(Y.encodeStateVector(new Y.Doc()));
		expect(parseServerMessage(JSON.stringify({ type: 'khs:durable', stateVector: sv }))?.type).toBe(
			'khs:durable'
		);
		expect(
			parseServerMessage(JSON.stringify({ type: 'khs:rejected', field: 'price', message: 'Only the owner' }))
		).toEqual({ type: 'khs:rejected', field: 'price', message: 'Only the owner' });
		expect(parseServerMessage('not json')).toBeNull();
		expect(parseServerMessage(JSON.stringify({ type: 'other' }))).toBeNull();
		expect(parseServerMessage(JSON.stringify({ type: 'khs:durable', stateVector: '%%%' }))).toBeNull();
	});

	it('reads what the server encodes', () => {
		const sent = encodeRejected({ documentName: 'job:x', entityId: 'x', field: 'price', message: 'No.' });
		expect(parseServerMessage(sent)).toEqual({ type: 'khs:rejected', field: 'price', message: 'No.' });
		const doc = new Y.Doc();
		doc.getMap('m').set('a', 1);
		const ack = parseServerMessage(encodeDurableAck(Y.encodeStateVector(doc)));
		expect(ack?.type === 'khs:durable' && isDurable(doc, ack.stateVector)).toBe(true);
	});
});
