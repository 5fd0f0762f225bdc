import { HocuspocusProvider } from '@hocuspocus/provider';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { startTestServer, type TestServer, waitFor } from '../testing/app.ts';
import { assignedJobIdsFromDb, createDefaultAccess } from './access.ts';

const assignedJob = crypto.randomUUID();
const otherJob = crypto.randomUUID();
const ownCustomer = crypto.randomUUID();
const otherCustomer = crypto.randomUUID();

describe('collab websocket', () => {
	let t: TestServer;
	let ownerToken: string;
	let workerToken: string;
	const providers: HocuspocusProvider[] = [];
	const sockets: WebSocket[] = [];

	beforeAll(async () => {
		t = await startTestServer('pg', (db) => ({
			access: createDefaultAccess({
				assignedJobIds: assignedJobIdsFromDb(db),
				// The projection's jobs table does not exist yet: say which customer the assigned job has.
				customerIdsOfJobs: async (jobs) => new Set(jobs.has(assignedJob) ? [ownCustomer] : [])
			})
		}));
		await t.addUser('owner@khs.test', 'OWNER');
		const worker = await t.addUser('worker@khs.test', 'WORKER');
		await t.db.query('INSERT INTO job_assignments (job_id, user_id) VALUES ($1, $2)', [
			assignedJob,
			worker.id
		]);
		ownerToken = await t.login('owner@khs.test');
		workerToken = await t.login('worker@khs.test');
	});

	afterEach(() => {
		for (const p of providers.splice(0)) p.destroy();
		for (const s of sockets.splice(0)) s.terminate();
	});

	afterAll(async () => {
		await t?.close();
	});

	function provider(name: string, token: string, document = new Y.Doc()): HocuspocusProvider {
		const p = new HocuspocusProvider({ url: t.ws, name, token, document });
		providers.push(p);
		return p;
	}

	const synced = (p: HocuspocusProvider) =>
		waitFor(`sync of ${p.configuration.name}`, (done) => {
			if (p.isSynced) return done();
			p.on('synced', () => done());
		});

	const authFailure = (p: HocuspocusProvider) =>
		waitFor<string>(`auth failure on ${p.configuration.name}`, (done) =>
			p.on('authenticationFailed', ({ reason }: { reason: string }) => done(reason))
		);

	const valueArrives = (doc: Y.Doc, key: string) =>
		waitFor<unknown>(`"${key}" to arrive`, (done) => {
			const map = doc.getMap('fields');
			if (map.has(key)) return done(map.get(key));
			map.observe(() => map.has(key) && done(map.get(key)));
		});

	it('syncs a document between two clients with good tokens', async () => {
		const a = provider(`job:${assignedJob}`, ownerToken);
		const b = provider(`job:${assignedJob}`, workerToken);
		await Promise.all([synced(a), synced(b)]);
		a.document.getMap('fields').set('title', 'Roof repair');
		expect(await valueArrives(b.document, 'title')).toBe('Roof repair');
		b.document.getMap('fields').set('status', 'in_progress');
		expect(await valueArrives(a.document, 'status')).toBe('in_progress');
	});

	it('refuses a forged and an expired token', async () => {
		const forged = provider(`job:${assignedJob}`, `${ownerToken.slice(0, -4)}AAAA`);
		expect(await authFailure(forged)).toBe('bad_signature');
		const [v, body] = ownerToken.split('.');
		const expiredToken = t.app.tokens.sign(
			JSON.parse(Buffer.from(body ?? '', 'base64url').toString()) as {
				sub: string;
				role: 'OWNER';
				name: string;
			},
			-1
		);
		expect(v).toBe('v1');
		const expired = provider(`job:${assignedJob}`, expiredToken);
		expect(await authFailure(expired)).toBe('expired');
		const none = provider(`job:${assignedJob}`, '');
		expect(await authFailure(none)).toBe('missing');
	});

	it('refuses a worker the documents of other jobs and other customers', async () => {
		expect(await authFailure(provider(`job:${otherJob}`, workerToken))).toBe('forbidden');
		expect(await authFailure(provider(`materials:${otherJob}`, workerToken))).toBe('forbidden');
		expect(await authFailure(provider(`customer:${otherCustomer}`, workerToken))).toBe('forbidden');
	});

	it('refuses unknown document names', async () => {
		expect(await authFailure(provider('invoice:42', ownerToken))).toBe('unknown_document');
		expect(await authFailure(provider(`job:${assignedJob}/../x`, ownerToken))).toBe('unknown_document');
	});

	it("opens the customer of a worker's job read-only and drops the worker's edits", async () => {
		const name = `customer:${ownCustomer}`;
		const owner = provider(name, ownerToken);
		const worker = provider(name, workerToken);
		const scope = waitFor<string>('worker authenticated', (done) =>
			worker.on('authenticated', ({ scope }: { scope: string }) => done(scope))
		);
		expect(await scope).toBe('readonly');
		await Promise.all([synced(owner), synced(worker)]);

		worker.document.getMap('fields').set('name', 'Hacked');
		owner.document.getMap('fields').set('phone', '555-0100');
		// A third client sees the owner's later edit; the worker's earlier one never got in.
		const observer = provider(name, ownerToken);
		await synced(observer);
		expect(await valueArrives(observer.document, 'phone')).toBe('555-0100');
		expect(observer.document.getMap('fields').get('name')).toBeUndefined();
		// The worker still receives the owner's edits.
		expect(await valueArrives(worker.document, 'phone')).toBe('555-0100');
	});

	it('closes an upgrade on another path', async () => {
		const ws = new WebSocket(t.ws.replace('/collab', '/elsewhere'));
		sockets.push(ws);
		const status = await waitFor<number>('upgrade refusal', (done) => {
			ws.on('unexpected-response', (_req, res) => done(res.statusCode ?? 0));
			ws.on('error', () => {});
		});
		expect(status).toBe(404);
	});

	it('closes a socket that sends garbage and keeps serving others', async () => {
		const a = provider(`job:${assignedJob}`, ownerToken);
		const b = provider(`job:${assignedJob}`, ownerToken);
		await Promise.all([synced(a), synced(b)]);

		for (const garbage of [
			Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3),
			Uint8Array.of(50, 1, 2),
			new Uint8Array(64).map((_, i) => (i * 37) & 0xff)
		]) {
			const ws = new WebSocket(t.ws);
			sockets.push(ws);
			await waitFor('garbage socket open', (done) => ws.once('open', () => done()));
			const closed = waitFor<number>('garbage socket close', (done) =>
				ws.once('close', (code) => done(code))
			);
			ws.send(garbage);
			expect(await closed).toBe(1002);
		}
		const text = new WebSocket(t.ws);
		sockets.push(text);
		await waitFor('text socket open', (done) => text.once('open', () => done()));
		const textClosed = waitFor<number>('text socket close', (done) =>
			text.once('close', (code) => done(code))
		);
		text.send('hello');
		expect(await textClosed).toBe(1003);

		a.document.getMap('fields').set('after', 'garbage');
		expect(await valueArrives(b.document, 'after')).toBe('garbage');
	});

	it('closes a socket whose message is over the size limit', async () => {
		const small = await startTestServer('pg', { maxWebsocketMessageBytes: 1024 });
		try {
			const ws = new WebSocket(small.ws);
			await waitFor('big socket open', (done) => ws.once('open', () => done()));
			const closed = waitFor<number>('big socket close', (done) => ws.once('close', (code) => done(code)));
			ws.on('error', () => {});
			ws.send(new Uint8Array(4096));
			expect(await closed).toBe(1009);
		} finally {
			await small.close();
		}
	});
});
