import { HocuspocusProvider } from '@hocuspocus/provider';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { startTestServer, type TestServer, waitFor } from '../testing/app.ts';
import { messageBudget } from './limits.ts';

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

	it('lets a steady sender through and stops one that outruns the rate', () => {
		let nowMs = 0;
		const budget = messageBudget(10, 5, () => nowMs);
		for (let i = 0; i < 5; i++) expect(budget.take()).toBe(true);
		expect(budget.take()).toBe(false);
		nowMs += 100; // 0.1 s at 10/s refills one message
		expect(budget.take()).toBe(true);
		expect(budget.take()).toBe(false);
	});
});
