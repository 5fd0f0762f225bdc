import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { collabLimitDefaults } from '../../server/collab/limits.ts';
import { socketRules } from '../../server/collab/websocket.ts';
import { waitFor } from '../../server/testing/app.ts';
import { parseDurableAck } from '../../wire/durability.ts';
import { addMaterials, floodSyncStep1, relayEdit, rssBytes, watchRss, weekOffline } from './support/flood.ts';
import {
	killIfRunning,
	login,
	openTestDatabase,
	type ServerProcess,
	startServerProcess,
	type TestDatabase
} from './support/server-process.ts';
import { connect, materialNames, synced } from './support/writers.ts';

// docs/socket-limits.md: no single websocket can make the server hold more than a documented amount
// of memory or CPU. A real server process (scripts/start.mjs) on real Postgres, default limits.
// The +200 MB / 1 s figures are the bench's (npm run bench:abuse); here the bound is generous.
const rssGrowthBoundBytes = 400 * 1024 * 1024;

describe('one socket cannot take the server down', () => {
	let database: TestDatabase;
	let server: ServerProcess;
	let token: string;
	let ownerId: string;

	beforeAll(async () => {
		database = await openTestDatabase();
		ownerId = (await database.addUser('owner@flood.test', 'OWNER')).id;
		server = await startServerProcess({ databaseUrl: database.databaseUrl });
		token = await login(server.http, 'owner@flood.test');
	});

	afterAll(async () => {
		await killIfRunning(server);
		await database?.drop();
	});

	/** Resolves once the server acknowledged durable everything `doc`'s own client wrote. */
	function durable(provider: ReturnType<typeof connect>, ms = 30_000): Promise<void> {
		const own = Y.getState(provider.document.store, provider.document.clientID);
		return waitFor(
			'durable ack',
			(done) => {
				provider.on('stateless', ({ payload }: { payload: string }) => {
					const clock = parseDurableAck(payload)?.get(provider.document.clientID) ?? 0;
					if (clock >= own) done();
				});
			},
			ms
		);
	}

	it('SOCK-3/SOCK-8: a device offline for a week (2,000 adds + 8,000 changes) still syncs', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		const doc = new Y.Doc();
		const ids = weekOffline(doc, ownerId);
		const update = Y.encodeStateAsUpdate(doc);
		console.log(`flood.test.ts week-offline update: ${update.byteLength} bytes`);
		expect(update.byteLength).toBeLessThan(collabLimitDefaults.maxUpdateBytes);
		const device = connect(server.ws, name, token, doc);
		try {
			const stored = durable(device);
			await synced(device);
			await stored;
		} finally {
			device.destroy();
		}
		const reader = connect(server.ws, name, token);
		try {
			await synced(reader);
			expect(materialNames(reader.document).size).toBe(ids.length);
		} finally {
			reader.destroy();
		}
	});

	it('SOCK-1: a 20,000 step-1 flood on a 1 MB list closes the flooder (1008); others are served', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		// The honest pair: an editor that wrote the 1.1 MB list, and an observer of the same document.
		const editorDoc = new Y.Doc();
		addMaterials(editorDoc, 2_500, ownerId, 'list');
		expect(Y.encodeStateAsUpdate(editorDoc).byteLength).toBeGreaterThan(1_000_000);
		const editor = connect(server.ws, name, token, editorDoc);
		const observer = connect(server.ws, name, token);
		try {
			const stored = durable(editor);
			await Promise.all([synced(editor), synced(observer)]);
			await stored;

			const rssBefore = rssBytes(server.pid);
			const rss = watchRss(server.pid);
			const flooded = floodSyncStep1(server.ws, name, token, 20_000);
			// During the flood: an honest edit is relayed and /healthz answers.
			const [close, relayMs, health] = await Promise.all([
				flooded,
				relayEdit({ doc: editorDoc, userId: ownerId }, observer, 'during-flood'),
				fetch(`${server.http}/healthz`)
			]);
			const peak = rss.stop();
			console.log(
				`flood.test.ts step-1 flood: closed ${close.code} "${close.reason}", edit relayed in ${relayMs.toFixed(0)} ms, ` +
					`RSS ${(rssBefore / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MB`
			);
			expect(close).toEqual({ code: socketRules.syncRequests.code, reason: socketRules.syncRequests.reason });
			expect(health.status).toBe(200);
			expect(peak - rssBefore).toBeLessThan(rssGrowthBoundBytes);
			// The close is logged with its rule.
			await waitFor('the SOCK-1 log line', (done) => {
				const poll = setInterval(() => {
					if (server.logs.some((l) => l.rule === 'SOCK-1' && l.msg === 'collab socket closed')) {
						clearInterval(poll);
						done();
					}
				}, 20);
			});
			// And after it the honest pair still syncs.
			await relayEdit({ doc: editorDoc, userId: ownerId }, observer, 'after-flood');
		} finally {
			editor.destroy();
			observer.destroy();
		}
	});

	it('still shuts down cleanly on SIGTERM after the flood', async () => {
		process.kill(server.pid, 'SIGTERM');
		const { code } = await server.exited;
		expect(code).toBe(0);
	});
});
