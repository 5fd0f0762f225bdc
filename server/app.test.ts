import { HocuspocusProvider } from '@hocuspocus/provider';
import type { Extension } from '@hocuspocus/server';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startTestServer, type TestServer, waitFor } from './testing/app.ts';

describe('app composition', () => {
	const servers: TestServer[] = [];
	afterAll(async () => {
		await Promise.all(servers.map((s) => s.close()));
	});

	it('hands non-API paths to the page handler and keeps /api JSON', async () => {
		const t = await startTestServer('pglite', {
			pages: (req, res, next) => {
				if (req.url === '/hello') {
					res.writeHead(200, { 'content-type': 'text/html' });
					res.end('<h1>hi</h1>');
				} else next();
			}
		});
		servers.push(t);
		expect(await (await fetch(`${t.http}/hello`)).text()).toBe('<h1>hi</h1>');
		expect((await fetch(`${t.http}/missing`)).status).toBe(404);
		const api = await fetch(`${t.http}/api/missing`);
		expect(api.status).toBe(404);
		expect(api.headers.get('content-type')).toContain('application/json');
	});

	it('on close, stores every document before resolving and closes client sockets', async () => {
		const stored: string[] = [];
		let storeRunning = false;
		const slowStore: Extension = {
			async onStoreDocument({ documentName, document }) {
				storeRunning = true;
				// A slow database: shutdown must wait for this, not cut it off.
				await new Promise((resolve) => setImmediate(resolve));
				stored.push(`${documentName}=${document.getMap('fields').get('title')}`);
				storeRunning = false;
			}
		};
		const t = await startTestServer('pglite', {
			hocuspocusExtensions: [slowStore],
			// Long debounce: without the shutdown flush the store would happen 60 s later.
			hocuspocusConfig: { debounce: 60_000, maxDebounce: 60_000 }
		});
		await t.addUser('owner@khs.test', 'OWNER');
		const token = await t.login('owner@khs.test');
		const name = `job:${crypto.randomUUID()}`;
		const provider = new HocuspocusProvider({ url: t.ws, name, token, document: new Y.Doc() });
		try {
			await waitFor('synced', (done) => provider.on('synced', () => done()));
			provider.document.getMap('fields').set('title', 'Kitchen');
			// The server has applied the update once the provider has no unsynced changes left.
			await waitFor('update acknowledged', (done) => {
				if (provider.unsyncedChanges === 0) return done();
				provider.on('unsyncedChanges', ({ number }: { number: number }) => number === 0 && done());
			});
			const disconnected = waitFor('provider disconnect', (done) => provider.on('disconnect', () => done()));
			await t.app.close();
			expect(stored).toContain(`${name}=Kitchen`);
			expect(storeRunning).toBe(false);
			expect(t.app.hocuspocus.getDocumentsCount()).toBe(0);
			await disconnected;
			// Closed for good: new connections are refused.
			await expect(fetch(`${t.http}/healthz`)).rejects.toThrow();
		} finally {
			provider.destroy();
			await t.close();
		}
	});
});
