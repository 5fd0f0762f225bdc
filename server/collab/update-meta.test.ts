import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { seededRandom, testSeed } from '../../tests/support/random.ts';
import { UpdateMetaCache } from './update-meta.ts';

describe('UpdateMetaCache', () => {
	it('gives every update the ranges decoding it gives: local, remote, out-of-order and delete-only updates', () => {
		const seed = testSeed();
		console.log(`update meta: seed ${seed} (TEST_SEED=${seed} to replay)`);
		const random = seededRandom(seed);
		const writers = Array.from({ length: 4 }, (_, i) => {
			const doc = new Y.Doc();
			doc.clientID = 10 + i;
			return doc;
		});
		const server = new Y.Doc();
		const cache = new UpdateMetaCache();
		cache.watch(server);
		const emitted: Uint8Array[] = [];
		server.on('update', (update: Uint8Array) => emitted.push(update));
		// Updates a writer made and the server has not seen yet, delivered in random order, so some
		// wait in the server's pending structs and arrive in a later transaction's update.
		const inbox: Uint8Array[] = [];
		for (const writer of writers) writer.on('update', (update: Uint8Array) => inbox.push(update));

		for (let step = 0; step < 400; step++) {
			const writer = writers[Math.floor(random() * writers.length)] as Y.Doc;
			const map = writer.getMap('r');
			const choice = random();
			if (choice < 0.5)
				writer.transact(() => map.set(`k${Math.floor(random() * 20)}`, 'x'.repeat(random() * 200)));
			else if (choice < 0.7) map.delete(`k${Math.floor(random() * 20)}`);
			else if (choice < 0.85 && inbox.length > 0) {
				const [update] = inbox.splice(Math.floor(random() * inbox.length), 1);
				Y.applyUpdate(server, update as Uint8Array, 'remote');
			} else {
				const root = server.getMap('r');
				server.transact(() => {
					for (let i = Math.floor(random() * 30); i >= 0; i--) root.set(`s${step}-${i}`, 'server write');
				});
			}
		}
		for (const update of inbox) Y.applyUpdate(server, update, 'remote');

		expect(emitted.length).toBeGreaterThan(100);
		for (const update of emitted) expect(cache.metaOf(update)).toEqual(Y.parseUpdateMeta(update));
	});

	it('takes a large update of a document with few clients from its transaction, a small one of many clients by decoding', () => {
		const doc = new Y.Doc();
		for (let client = 1; client <= 50; client++) {
			const other = new Y.Doc();
			other.clientID = client;
			other.getMap('r').set(`c${client}`, client);
			Y.applyUpdate(doc, Y.encodeStateAsUpdate(other));
		}
		const cache = new UpdateMetaCache();
		cache.watch(doc);
		const updates: Uint8Array[] = [];
		doc.on('update', (update: Uint8Array) => updates.push(update));
		doc.getMap('r').set('big', 'x'.repeat(500));
		doc.getMap('r').set('s', 1);
		const [big, small] = updates as [Uint8Array, Uint8Array];
		expect(big.byteLength).toBeGreaterThan(51);
		expect(small.byteLength).toBeLessThanOrEqual(51);
		// The recorded ranges are the same object on every call; decoding gives a new one each time.
		expect(cache.metaOf(big)).toBe(cache.metaOf(big));
		expect(cache.metaOf(small)).not.toBe(cache.metaOf(small));
		expect(cache.metaOf(small)).toEqual(Y.parseUpdateMeta(small));
	});
});
