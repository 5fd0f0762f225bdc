import type { Extension } from '@hocuspocus/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssembledServer, assembleServer } from '../../server/assemble.ts';
import { silentLogger } from '../../server/logger.ts';
import { waitFor } from '../../server/testing/app.ts';
import { login, openTestDatabase, type TestDatabase } from './support/server-process.ts';
import { MaterialWriter, synced } from './support/writers.ts';

// docs/architecture.md "Durability", Unloading: documents with no connections are unloaded. Memory after a 10,000-connection burst is
// measured by `npm run bench:memory`, not asserted here (no timing or memory assertions in tests).
describe('unloading', () => {
	let database: TestDatabase;
	let server: AssembledServer;
	let ws: string;
	let http: string;
	let ownerId: string;
	/** Re-checks waiting conditions whenever a connection closes or a document unloads. */
	const changed = new Set<() => void>();

	beforeAll(async () => {
		database = await openTestDatabase();
		ownerId = (await database.addUser('owner@unload.test', 'OWNER')).id;
		server = await assembleServer({
			db: database.db,
			logger: silentLogger(),
			authSecret: 'integration-secret-integration-secret'
		});
		// A probe after the product's own extensions: hooks() reads the list at each call.
		const probe: Extension = {
			extensionName: 'test-unload-probe',
			async onDisconnect() {
				for (const check of changed) check();
			},
			async afterUnloadDocument() {
				for (const check of changed) check();
			}
		};
		server.app.hocuspocus.configuration.extensions.push(probe);
		const port = await server.app.listen(0);
		ws = `ws://127.0.0.1:${port}/collab`;
		http = `http://127.0.0.1:${port}`;
	});

	afterAll(async () => {
		await server?.close();
		await database?.drop();
	});

	function drained(ms = 15_000): Promise<void> {
		const { hocuspocus } = server.app;
		return waitFor(
			'documents and connections to return to 0',
			(done) => {
				const check = () => {
					if (hocuspocus.getDocumentsCount() === 0 && hocuspocus.getConnectionsCount() === 0) {
						changed.delete(check);
						done();
					}
				};
				changed.add(check);
				check();
			},
			ms
		);
	}

	it('unloads every document once a burst of 200 connections over 50 documents has left', async () => {
		const token = await login(http, 'owner@unload.test');
		const docNames = Array.from({ length: 50 }, () => `materials:${crypto.randomUUID()}`);
		const writers = Array.from(
			{ length: 200 },
			(_, i) => new MaterialWriter(ws, docNames[i % docNames.length] as string, token, ownerId, `u${i}`)
		);
		try {
			await Promise.all(writers.map((w) => synced(w.provider)));
			expect(server.app.hocuspocus.getDocumentsCount()).toBe(50);
			for (const w of writers) w.edit();
			await Promise.all(writers.map((w) => w.allDurable()));
		} finally {
			for (const w of writers) w.destroy();
		}
		await drained();
		expect(server.app.hocuspocus.getDocumentsCount()).toBe(0);
		expect(server.app.hocuspocus.getConnectionsCount()).toBe(0);

		// And a document opened again loads what was stored (unload lost nothing).
		const again = new MaterialWriter(ws, docNames[0] as string, token, ownerId, 'again');
		try {
			await synced(again.provider);
			expect(again.list.ids().length).toBe(4);
		} finally {
			again.destroy();
		}
		await drained();
	});
});
