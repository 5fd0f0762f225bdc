import { HocuspocusProvider } from '@hocuspocus/provider';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { HybridClock, MaterialListDoc } from '../../crdt/index.ts';
import { readConfig } from '../config.ts';
import { metrics } from '../metrics.ts';
import { startTestServer, type TestServer, waitFor } from '../testing/app.ts';
import { authFrame, awarenessFrame, syncStep1Frame, updateFrame } from './frame-builders.ts';
import { collabLimitDefaults, collabLimitEnv, MessageBudget } from './limits.ts';
import { socketRules } from './websocket.ts';

/** A frame with a valid envelope (`varString(document) varUint(type)`) addressed to `name`. */
function frameFor(name: string): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarString(e, name);
	encoding.writeVarUint(e, 2); // Auth, with an empty token: refused by onAuthenticate, harmlessly
	encoding.writeVarUint(e, 0);
	encoding.writeVarString(e, '');
	return encoding.toUint8Array(e);
}

describe('collab flood limits', () => {
	let t: TestServer;
	let token: string;
	const sockets: WebSocket[] = [];

	beforeAll(async () => {
		t = await startTestServer('pg', {
			collabLimits: {
				maxSocketsPerAddress: 4,
				maxDocumentsPerSocket: 3,
				messagesPerSecond: 50,
				messageBurst: 100
			}
		});
		await t.addUser('owner@khs.test', 'OWNER');
		token = await t.login('owner@khs.test');
	});

	afterAll(async () => {
		for (const s of sockets) s.terminate();
		await t?.close();
	});

	async function openSocket(): Promise<WebSocket> {
		const ws = new WebSocket(t.ws);
		sockets.push(ws);
		ws.on('error', () => {});
		await waitFor('socket open', (done) => ws.once('open', () => done()));
		return ws;
	}

	const closeCode = (ws: WebSocket) =>
		waitFor<number>('socket close', (done) => ws.once('close', (code) => done(code)));

	/** Proves the server still serves others: a real provider syncs an edit through it. */
	async function stillServes(): Promise<void> {
		const doc = new Y.Doc();
		const provider = new HocuspocusProvider({
			url: t.ws,
			name: `job:${crypto.randomUUID()}`,
			token,
			document: doc
		});
		try {
			await waitFor('provider sync', (done) => provider.on('synced', () => done()));
		} finally {
			provider.destroy();
		}
	}

	it('closes a socket that addresses too many documents (1008)', async () => {
		const ws = await openSocket();
		const closed = closeCode(ws);
		for (let i = 0; i < 4; i++) ws.send(frameFor(`job:${crypto.randomUUID()}`));
		expect(await closed).toBe(1008);
		await stillServes();
	});

	it('closes a socket that floods messages (1008)', async () => {
		const ws = await openSocket();
		const closed = closeCode(ws);
		const name = `job:${crypto.randomUUID()}`;
		for (let i = 0; i < 500; i++) ws.send(frameFor(name));
		expect(await closed).toBe(1008);
		await stillServes();
	});

	it('refuses upgrades beyond the per-address limit with 429 and serves again once sockets close', async () => {
		const open = await Promise.all([openSocket(), openSocket(), openSocket(), openSocket()]);
		const extra = new WebSocket(t.ws);
		sockets.push(extra);
		const status = await waitFor<number>('upgrade refusal', (done) => {
			extra.on('unexpected-response', (_req, res) => done(res.statusCode ?? 0));
			extra.on('error', () => {});
		});
		expect(status).toBe(429);
		for (const ws of open) ws.close();
		await Promise.all(open.map((ws) => (ws.readyState === WebSocket.CLOSED ? undefined : closeCode(ws))));
		await stillServes();
	});

	it('spends n tokens at once (the inbound byte budget, SOCK-8) and refuses without spending', () => {
		const budget = new MessageBudget(100, 1_000, () => 0);
		expect(budget.take(800)).toBe(true);
		expect(budget.take(300)).toBe(false);
		expect(budget.take(200)).toBe(true);
	});

	it('lets a steady sender through and stops one that outruns the rate', () => {
		let nowMs = 0;
		const budget = new MessageBudget(10, 5, () => nowMs);
		for (let i = 0; i < 5; i++) expect(budget.take()).toBe(true);
		expect(budget.take()).toBe(false);
		nowMs += 100; // 0.1 s at 10/s refills one message
		expect(budget.take()).toBe(true);
		expect(budget.take()).toBe(false);
	});
});

/** Rejections counted for a rule so far (this process's registry: tests compare before and after). */
async function rejections(rule: string): Promise<number> {
	const { values } = await metrics.collabRejections.get();
	return values.find((v) => v.labels.reason === rule)?.value ?? 0;
}

/** 2,500 materials: a ~1.1 MB material list, the flood target of docs/socket-limits.md. */
function addMaterials(doc: Y.Doc, count: number, userId = 'filler'): void {
	const list = new MaterialListDoc(doc, 'limits', {
		writer: { userId, deviceId: 'filler', role: 'OWNER' },
		clock: new HybridClock()
	});
	doc.transact(() => {
		for (let i = 0; i < count; i++)
			list.add({ name: `material ${i} with a longish name`, quantity: i, unit: 'pcs' });
	});
}

describe('collab socket size and reply limits (docs/socket-limits.md)', () => {
	let t: TestServer;
	let token: string;
	let ownerId: string;
	const sockets: WebSocket[] = [];
	const limits = {
		maxUpdateBytes: 64 * 1024,
		maxDocumentBytes: 256 * 1024,
		maxControlMessageBytes: 8 * 1024,
		inboundBytesBurst: 512 * 1024,
		inboundBytesPerSecond: 1024,
		maxUnsentBytes: 256 * 1024,
		unsentCloseGraceMs: 30_000,
		syncRequestBurst: 200,
		maxDocumentsPerSocket: 200
	};

	beforeAll(async () => {
		t = await startTestServer('pg', { collabLimits: limits });
		ownerId = (await t.addUser('owner@khs.test', 'OWNER')).id;
		token = await t.login('owner@khs.test');
	});

	afterAll(async () => {
		for (const s of sockets) s.terminate();
		await t?.close();
	});

	async function openSocket(): Promise<WebSocket> {
		const ws = new WebSocket(t.ws);
		sockets.push(ws);
		ws.on('error', () => {});
		await waitFor('socket open', (done) => ws.once('open', () => done()));
		return ws;
	}

	const closed = (ws: WebSocket) =>
		waitFor<{ code: number; reason: string }>('socket close', (done) =>
			ws.once('close', (code, reason) => done({ code, reason: reason.toString() }))
		);

	/** An authenticated raw document connection (the Authenticated answer seen). */
	async function openDocument(name: string): Promise<WebSocket> {
		const ws = await openSocket();
		const authenticated = waitFor('authenticated', (done) => ws.once('message', () => done()));
		ws.send(authFrame(name, token));
		await authenticated;
		return ws;
	}

	it('SOCK-3: closes a socket whose update is over maxUpdateBytes (1009)', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		const ws = await openDocument(name);
		const close = closed(ws);
		ws.send(updateFrame(name, new Uint8Array(limits.maxUpdateBytes + 1)));
		expect(await close).toEqual({ code: 1009, reason: socketRules.updateSize.reason });
	});

	it('SOCK-5: closes a socket whose non-update message is over maxControlMessageBytes (1009)', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		const ws = await openDocument(name);
		const close = closed(ws);
		ws.send(awarenessFrame(name, new Uint8Array(limits.maxControlMessageBytes + 1)));
		expect(await close).toEqual({ code: 1009, reason: socketRules.messageSize.reason });
	});

	it('SOCK-4: refuses the update that would grow a document past maxDocumentBytes (1008)', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		// A real client fills the document to ~230 KB in small updates (each under SOCK-3) and stays
		// connected, so the document stays loaded (this app has no store).
		const doc = new Y.Doc();
		const provider = new HocuspocusProvider({ url: t.ws, name, token, document: doc });
		try {
			await waitFor('provider sync', (done) => provider.on('synced', () => done()));
			for (let i = 0; i < 6; i++) addMaterials(doc, 60, ownerId);
			await waitFor('all updates applied', (done) => {
				const check = () => provider.unsyncedChanges === 0 && done();
				provider.on('unsyncedChanges', check);
				check();
			});
			const ws = await openDocument(name);
			const close = closed(ws);
			const more = new Y.Doc();
			addMaterials(more, 90, ownerId);
			const update = Y.encodeStateAsUpdate(more);
			expect(update.byteLength).toBeLessThan(limits.maxUpdateBytes);
			ws.send(updateFrame(name, update));
			expect(await close).toEqual({ code: 1008, reason: socketRules.documentSize.reason });
		} finally {
			provider.destroy();
		}
	});

	it('SOCK-8: closes a socket that sends more bytes than its budget (1008)', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		const ws = await openDocument(name);
		const close = closed(ws);
		// Each message is within every size limit (SOCK-5), 70 of them are past the 512 KiB burst.
		// Hocuspocus refuses the garbage awareness by closing the document, not the socket.
		for (let i = 0; i < 70; i++) ws.send(awarenessFrame(name, new Uint8Array(8_000)));
		expect((await close).reason).toBe(socketRules.byteRate.reason);
	});

	it('SOCK-2: closes a socket whose unsent bytes pass maxUnsentBytes (1013)', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		const direct = await t.app.hocuspocus.openDirectConnection(name, {
			user: { id: 'filler', name: 'filler', role: 'OWNER' },
			access: 'write'
		});
		await direct.transact((doc) => addMaterials(doc, 2_500));
		const before = await rejections('SOCK-2');
		const ws = await openSocket();
		// A reader that stops reading: every reply stays in the server's buffer once the kernel's fill.
		(ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
		// One address per session: each gets its own 1.1 MB step 2 reply (SOCK-1 allows one each).
		for (let i = 0; i < 60; i++) {
			ws.send(authFrame(`${name}\0s${i}`, token));
			ws.send(syncStep1Frame(`${name}\0s${i}`));
		}
		await waitFor(
			'the SOCK-2 close',
			(done) => {
				const poll = setInterval(async () => {
					if ((await rejections('SOCK-2')) > before) {
						clearInterval(poll);
						done();
					}
				}, 50);
			},
			30_000
		);
		const close = closed(ws);
		(ws as unknown as { _socket: { resume(): void } })._socket.resume();
		expect(await close).toEqual({ code: 1013, reason: socketRules.unsentBytes.reason });
		await direct.disconnect();
	});

	it('SOCK-1: closes a socket that repeats sync step 1 for one document beyond the allowance (1008)', async () => {
		const name = `materials:${crypto.randomUUID()}`;
		const ws = await openDocument(name);
		const close = closed(ws);
		for (let i = 0; i <= limits.syncRequestBurst; i++) ws.send(syncStep1Frame(name));
		expect(await close).toEqual({ code: 1008, reason: socketRules.syncRequests.reason });
	});

	it('reads every limit from its environment variable (README, Configuration)', () => {
		const env = Object.fromEntries(
			Object.values(collabLimitEnv).map((variable, i) => [variable, String(i + 1)])
		);
		const read = readConfig(env).collabLimits;
		expect(Object.keys(read).sort()).toEqual(Object.keys(collabLimitDefaults).sort());
		expect(read.maxUpdateBytes).toBe(Object.keys(collabLimitEnv).indexOf('maxUpdateBytes') + 1);
		expect(() => readConfig({ MAX_UNSENT_BYTES: '-1' })).toThrow('MAX_UNSENT_BYTES');
	});

	it('keeps the defaults sized as docs/socket-limits.md says', () => {
		// The honest week-offline update (1.83 MB, tests/integration/flood.test.ts) fits SOCK-3 and SOCK-8.
		expect(collabLimitDefaults.maxUpdateBytes).toBeGreaterThanOrEqual(2 * 1_832_628);
		expect(collabLimitDefaults.inboundBytesBurst).toBeGreaterThanOrEqual(collabLimitDefaults.maxUpdateBytes);
		// A fresh client's first sync of the largest allowed document fits the unsent-bytes cap.
		expect(collabLimitDefaults.maxUnsentBytes).toBeGreaterThanOrEqual(collabLimitDefaults.maxDocumentBytes);
	});
});
