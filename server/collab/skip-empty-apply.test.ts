import { HocuspocusProvider } from '@hocuspocus/provider';
import { type Extension, Server } from '@hocuspocus/server';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HybridClock, MaterialListDoc } from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';
import { skipEmptyApplies, UPDATE_TYPES } from './skip-empty-apply.ts';
import { createWriteGuardExtension } from './write-guard.ts';

const OWNER: AuthUser = { id: 'owner-1', name: 'Olga', role: 'OWNER' };
const TIMEOUT_MS = 5_000;
const JOB_ID = '00000000-0000-4000-8000-00000000000a';

const ownerAuth: Extension = {
	extensionName: 'test-auth',
	priority: 1000,
	async onAuthenticate() {
		return { user: OWNER };
	}
};

const servers: Server[] = [];
const providers: HocuspocusProvider[] = [];

afterEach(async () => {
	for (const provider of providers.splice(0)) provider.destroy();
	for (const server of servers.splice(0)) await server.destroy();
});

async function serve(extensions: Extension[]): Promise<{ server: Server; url: string }> {
	const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, extensions });
	servers.push(server);
	await server.listen();
	return { server, url: `ws://127.0.0.1:${server.address.port}` };
}

function connect(url: string, name: string): Promise<{ doc: Y.Doc; provider: HocuspocusProvider }> {
	const doc = new Y.Doc();
	const provider = new HocuspocusProvider({ url, name, document: doc, token: 'owner' });
	providers.push(provider);
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`never synced ${name}`)), TIMEOUT_MS);
		provider.on('synced', () => {
			clearTimeout(timer);
			resolve({ doc, provider });
		});
	});
}

/** Resolves once the writer has been told every update it sent is applied (Hocuspocus' sync status). */
function untilSynced(provider: HocuspocusProvider): Promise<void> {
	if (!provider.hasUnsyncedChanges) return Promise.resolve();
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('unsynced changes never cleared')), TIMEOUT_MS);
		const check = () => {
			if (provider.hasUnsyncedChanges) return;
			clearTimeout(timer);
			provider.off('unsyncedChanges', check);
			resolve();
		};
		provider.on('unsyncedChanges', check);
	});
}

describe('skipEmptyApplies', () => {
	it('an update the write guard applied makes one server transaction, and its writer is still told it is applied', async () => {
		let updates = 0;
		let transactions = 0;
		const count: Extension = {
			extensionName: 'count',
			async afterLoadDocument({ document }) {
				document.on('afterTransaction', (tr: Y.Transaction) => {
					if ((tr.origin as { source?: string } | null)?.source === 'connection') transactions++;
				});
			},
			async beforeSync({ type }) {
				if (UPDATE_TYPES.has(type)) updates++;
			}
		};
		const guard = createWriteGuardExtension({ logger: pino({ level: 'silent' }) });
		const { server, url } = await serve([ownerAuth, count, guard]);
		const name = `materials:${JOB_ID}`;
		const { doc, provider } = await connect(url, name);
		const list = new MaterialListDoc(doc, JOB_ID, {
			writer: { userId: OWNER.id, deviceId: 'dev', role: 'OWNER' },
			clock: new HybridClock()
		});
		const id = list.add({ name: 'Screws', quantity: 1 }).id;
		list.require(id).set({ quantity: 2 });
		list.require(id).set({ quantity: 3 });
		await untilSynced(provider);
		const served = server.hocuspocus.documents.get(name) as Y.Doc;
		const reader = {
			writer: { userId: 'reader', deviceId: 'reader', role: 'OWNER' as const },
			clock: new HybridClock()
		};
		expect(new MaterialListDoc(served, JOB_ID, reader).read(id)?.quantity).toBe(3);
		// One per update message, the guard's: Hocuspocus' own apply of the emptied payload made a second.
		expect(updates).toBeGreaterThanOrEqual(3);
		expect(transactions).toBe(updates);
	});

	it('without the write guard an update is applied as Hocuspocus applies it', async () => {
		skipEmptyApplies();
		const { server, url } = await serve([ownerAuth]);
		const { doc, provider } = await connect(url, 'plain');
		doc.getMap('m').set('k', 'v');
		await untilSynced(provider);
		expect((server.hocuspocus.documents.get('plain') as Y.Doc).getMap('m').get('k')).toBe('v');
	});
});
