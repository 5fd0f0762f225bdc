import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	HybridClock,
	JobDoc,
	JobOwnerDoc,
	PrivateNotesDoc,
	privateNotesDocName,
	type Role,
	type WriteContext
} from '../../crdt/index.ts';
import { type AssembledServer, assembleServer } from '../../server/assemble.ts';
import type { User } from '../../server/auth/users.ts';
import type { Db } from '../../server/db/port.ts';
import { silentLogger } from '../../server/logger.ts';
import {
	openMigratedTestDb,
	serveTestApp,
	type TestServer,
	testAuthSecret
} from '../../server/testing/app.ts';
import { waitForDocs } from '../support/wait.ts';

/**
 * What a device receives (docs/documents.md; SPEC AUD-1, AUD-2; server rules ACC-1…4, VIS-3,
 * PRES-1, PRES-2): a worker who opens the websocket WITHOUT the app — a plain provider on every
 * document she may open, and on the ones she may not — never receives the price or another
 * person's private notes, in any frame; the owner and each note's author keep seeing theirs live,
 * across a reconnect and a server restart.
 */
const STEP_MS = 10_000;
const PRICE = 98765.4321;
const NEW_PRICE = 12345.678;
const MARK = `m${Math.random().toString(36).slice(2, 10)}`;
const OWNER_NOTE = `OWNER-SECRET-${MARK}`;
const BEN_NOTE = `BEN-SECRET-${MARK}`;
const BEN_LATER_NOTE = `BEN-LATER-${MARK}`;

let db: Db;
let drop: () => Promise<void>;
let assembled: AssembledServer;
let server: TestServer;
const users: Record<'owner' | 'ana' | 'ben', User> = {} as never;
const tokens: Record<'owner' | 'ana' | 'ben', string> = {} as never;
const jobId = crypto.randomUUID();
const customerId = crypto.randomUUID();

async function start(): Promise<void> {
	assembled = await assembleServer({ db, logger: silentLogger(), authSecret: testAuthSecret });
	server = await serveTestApp(assembled.app, db, () => assembled.close());
}

interface PushAnswer {
	processed: Array<{ status: string; error?: unknown; version?: number | null }>;
}

async function push(token: string, operations: unknown[]): Promise<{ status: number; body: PushAnswer }> {
	const res = await fetch(`${server.http}/api/sync/push`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
		body: JSON.stringify({ deviceId: 'test-device', operations })
	});
	return { status: res.status, body: (await res.json()) as PushAnswer };
}

let opCount = 0;
const op = (type: string, entity: string, entityId: string, data: Record<string, unknown>) => ({
	id: `audiences-${MARK}-${++opCount}`,
	type,
	entity,
	entityId,
	data,
	timestamp: Date.now()
});

interface Client {
	provider: HocuspocusProvider;
	doc: Y.Doc;
	ctx: WriteContext;
	close(): void;
}

/** Every frame any recording socket received, as raw bytes. */
const frames: Buffer[] = [];

/** A WebSocket that keeps a copy of every frame it receives (the device's view of the wire). */
class RecordingWebSocket extends WebSocket {
	constructor(url: string | URL, protocols?: string | string[]) {
		super(url, protocols);
		this.addEventListener('message', (event: MessageEvent) => {
			const data = event.data;
			if (data instanceof ArrayBuffer) frames.push(Buffer.from(data));
			else if (typeof data === 'string') frames.push(Buffer.from(data));
			else if (ArrayBuffer.isView(data))
				frames.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
		});
	}
}

/** A plain provider, as any client would open one; `record` captures its socket's frames. */
function open(name: string, who: 'owner' | 'ana' | 'ben', record = false): Promise<Client> {
	const doc = new Y.Doc();
	const socket = new HocuspocusProviderWebsocket({
		url: server.ws,
		...(record ? { WebSocketPolyfill: RecordingWebSocket } : {})
	});
	const user = users[who];
	const role = user.role as Role;
	const ctx: WriteContext = {
		writer: { userId: user.id, deviceId: `${who}-raw`, role },
		clock: new HybridClock()
	};
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${who} never synced ${name}`)), STEP_MS);
		const provider = new HocuspocusProvider({
			websocketProvider: socket,
			name,
			document: doc,
			token: tokens[who],
			onSynced: () => {
				clearTimeout(timer);
				resolve({
					provider,
					doc,
					ctx,
					close: () => {
						provider.destroy();
						socket.destroy();
					}
				});
			},
			onAuthenticationFailed: ({ reason }) => {
				clearTimeout(timer);
				provider.destroy();
				socket.destroy();
				reject(new Error(`refused: ${reason}`));
			}
		});
		provider.attach();
	});
}

/** Resolves once `check` holds, re-checked on each update of `doc`. */
function until(doc: Y.Doc, check: () => boolean, what: string): Promise<void> {
	return waitForDocs([doc], check, { what, timeoutMs: STEP_MS });
}

/** The price as float64 (both byte orders) and as decimal text: every way it could travel. */
function encodings(value: number): Buffer[] {
	const be = Buffer.alloc(8);
	be.writeDoubleBE(value);
	return [be, Buffer.from(be).reverse(), Buffer.from(String(value))];
}

beforeAll(async () => {
	({ db, drop } = await openMigratedTestDb('pg'));
	await start();
	users.owner = await server.addUser(`owner-${MARK}@khs.test`, 'OWNER');
	users.ana = await server.addUser(`ana-${MARK}@khs.test`, 'WORKER');
	users.ben = await server.addUser(`ben-${MARK}@khs.test`, 'WORKER');
	for (const who of ['owner', 'ana', 'ben'] as const) tokens[who] = await server.login(users[who].email);
	const created = await push(tokens.owner, [
		op('create', 'customer', customerId, { name: 'Ada', phone: '555' }),
		op('create', 'job', jobId, {
			title: 'Roof',
			customerId,
			price: PRICE,
			assignedTo: [users.ana.id, users.ben.id]
		}),
		op('create', 'material', crypto.randomUUID(), { jobId, name: 'Shingles', quantity: 3 })
	]);
	expect(created.status).toBe(200);
	expect(created.body.processed.map((p) => p.status)).toEqual(['applied', 'applied', 'applied']);
});

afterAll(async () => {
	await server?.close();
	await drop?.();
});

describe('what a device receives', () => {
	it("AUD-2 ACC-2 a raw worker client never receives the price or another person's private notes", async () => {
		const ownerNotes = await open(privateNotesDocName(jobId, users.owner.id), 'owner');
		new PrivateNotesDoc(ownerNotes.doc, jobId, users.owner.id, ownerNotes.ctx).entity.appendPrivateNote(
			OWNER_NOTE
		);
		const benNotes = await open(privateNotesDocName(jobId, users.ben.id), 'ben');
		const benView = new PrivateNotesDoc(benNotes.doc, jobId, users.ben.id, benNotes.ctx);
		benView.entity.appendPrivateNote(BEN_NOTE);

		// Ana opens everything she may, and tries what she may not.
		const mine = [
			`job:${jobId}`,
			`materials:${jobId}`,
			`customer:${customerId}`,
			privateNotesDocName(jobId, users.ana.id)
		];
		const anaClients = await Promise.all(mine.map((name) => open(name, 'ana', true)));
		for (const name of [`job-owner:${jobId}`, privateNotesDocName(jobId, users.ben.id)]) {
			await expect(open(name, 'ana', true)).rejects.toThrow(/refused: forbidden/);
		}
		const anaJob = anaClients[0] as Client;
		const anaJobView = new JobDoc(anaJob.doc, jobId, anaJob.ctx);
		expect(anaJobView.read()?.title).toBe('Roof');
		expect(anaJobView.read()).not.toHaveProperty('price');

		// Live changes while she listens: a new price, new private notes, then a title she waits for.
		expect((await push(tokens.owner, [op('update', 'job', jobId, { price: NEW_PRICE })])).status).toBe(200);
		benView.entity.appendPrivateNote(BEN_LATER_NOTE);
		await until(benNotes.doc, () => benView.entity.privateNotes(users.ben.id).length === 2, 'ben note');
		expect((await push(tokens.owner, [op('update', 'job', jobId, { title: 'Roof v2' })])).status).toBe(200);
		await until(anaJob.doc, () => anaJobView.read()?.title === 'Roof v2', 'title to reach ana');

		expect(frames.length).toBeGreaterThan(4);
		const wire = Buffer.concat(frames);
		expect(wire.includes(Buffer.from('Roof v2'))).toBe(true); // the recorder does see content
		for (const secret of [...encodings(PRICE), ...encodings(NEW_PRICE)])
			expect(wire.includes(secret)).toBe(false);
		for (const note of [OWNER_NOTE, BEN_NOTE, BEN_LATER_NOTE])
			expect(wire.includes(Buffer.from(note))).toBe(false);
		for (const client of [...anaClients, ownerNotes, benNotes]) client.close();
	});

	it('AUD-2 the owner and each author still see theirs live, after a reconnect and a server restart', async () => {
		for (const round of ['reconnect', 'restart'] as const) {
			if (round === 'restart') {
				await server.close();
				await start();
			}
			const owner = await open(`job-owner:${jobId}`, 'owner');
			const ownerView = new JobOwnerDoc(owner.doc, jobId, owner.ctx);
			await until(owner.doc, () => ownerView.read().price === NEW_PRICE, `price after ${round}`);
			const ben = await open(privateNotesDocName(jobId, users.ben.id), 'ben');
			const benView = new PrivateNotesDoc(ben.doc, jobId, users.ben.id, ben.ctx);
			expect(benView.entity.privateNotes(users.ben.id).map((n) => n.text)).toEqual([
				BEN_NOTE,
				BEN_LATER_NOTE
			]);
			// Live: a price the owner sets on one device reaches the owner's other device.
			const second = await open(`job-owner:${jobId}`, 'owner');
			const secondView = new JobOwnerDoc(second.doc, jobId, second.ctx);
			const livePrice = round === 'reconnect' ? 777 : NEW_PRICE;
			secondView.entity.set({ price: livePrice });
			await until(owner.doc, () => ownerView.read().price === livePrice, `live price (${round})`);
			if (round === 'reconnect') secondView.entity.set({ price: NEW_PRICE });
			await until(owner.doc, () => ownerView.read().price === NEW_PRICE, 'price back');
			for (const client of [owner, ben, second]) client.close();
		}
		await assembled.sync.projection.flush();
		const { rows } = await db.query<{ data: Record<string, unknown> }>(
			'SELECT data FROM jobs WHERE id = $1',
			[jobId]
		);
		expect(rows[0]?.data.price).toBe(NEW_PRICE);
	});

	it("VIS-3 a worker's push naming the price gets the same answer whatever the value", async () => {
		const answers = [];
		for (const price of [NEW_PRICE, 5, null]) {
			const { status, body } = await push(tokens.ana, [
				op('update', 'job', jobId, { price, status: 'in_progress' })
			]);
			const { status: opStatus, error, version } = body.processed[0] ?? { status: 'missing' };
			answers.push({ status, opStatus, error, version });
		}
		expect(answers[0]?.opStatus).toBe('rejected');
		expect(answers[1]).toEqual(answers[0]);
		expect(answers[2]).toEqual(answers[0]);
	});

	it('PRES-1 PRES-2 presence shows the authenticated user, whatever a client claims', async () => {
		const owner = await open(`job:${jobId}`, 'owner');
		const ana = await open(`job:${jobId}`, 'ana');
		ana.provider.awareness?.setLocalState({
			user: { id: users.owner.id, name: 'Olivia Owner', role: 'OWNER', color: '#123456' }
		});
		const anaClientId = ana.doc.clientID;
		const seen = () =>
			owner.provider.awareness?.getStates().get(anaClientId) as
				| { user?: Record<string, unknown> }
				| undefined;
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error('ana never appeared to the owner')), STEP_MS);
			const check = () => {
				if (!seen()?.user) return;
				clearTimeout(timer);
				owner.provider.awareness?.off('change', check);
				resolve();
			};
			owner.provider.awareness?.on('change', check);
			check();
		});
		expect(seen()?.user).toEqual({
			id: users.ana.id,
			name: users.ana.name,
			role: 'WORKER',
			color: '#123456'
		});
		owner.close();
		ana.close();
	});
});
