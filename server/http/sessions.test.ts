import { HocuspocusProvider } from '@hocuspocus/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { assembleServer } from '../assemble.ts';
import { accessRevokedReason, sessionRevokedReason } from '../collab/revoke.ts';
import { silentLogger } from '../logger.ts';
import {
	openMigratedTestDb,
	serveTestApp,
	type TestServer,
	testAuthSecret,
	testPassword,
	waitFor
} from '../testing/app.ts';

// docs/server-rules.md "Sessions" SES-1…SES-6, over real HTTP and real websockets, one instance of
// the production assembly (event streams included) on real Postgres
// (tests/integration/revocation.test.ts covers two instances over Redis).
describe('sessions that end', () => {
	let t: TestServer;
	let ownerToken: string;
	const providers: HocuspocusProvider[] = [];

	beforeAll(async () => {
		const { db, drop } = await openMigratedTestDb('pg');
		const assembled = await assembleServer({ db, logger: silentLogger(), authSecret: testAuthSecret });
		t = await serveTestApp(assembled.app, db, async () => {
			try {
				await assembled.close();
			} finally {
				await drop();
			}
		});
		await t.addUser('owner@sessions.test', 'OWNER');
		ownerToken = await t.login('owner@sessions.test');
	});
	afterAll(async () => {
		for (const p of providers) p.destroy();
		await t?.close();
	});

	let n = 0;
	async function user(role: 'OWNER' | 'WORKER' = 'WORKER') {
		const email = `u${++n}@sessions.test`;
		const { id } = await t.addUser(email, role);
		return { id, email, token: await t.login(email) };
	}
	const me = async (token: string) => {
		const res = await fetch(`${t.http}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } });
		return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
	};
	const post = (path: string, token: string, body?: unknown) =>
		fetch(`${t.http}${path}`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			...(body === undefined ? {} : { body: JSON.stringify(body) })
		});

	interface Client {
		provider: HocuspocusProvider;
		closes: string[];
	}
	async function connect(name: string, token: string): Promise<Client> {
		const closes: string[] = [];
		const provider = new HocuspocusProvider({ url: t.ws, name, token, document: new Y.Doc() });
		providers.push(provider);
		provider.on('close', ({ event }: { event: { reason: string } }) => closes.push(event.reason));
		await waitFor(`${name} to sync`, (done) => {
			if (provider.isSynced) return done();
			provider.on('synced', () => done());
		});
		return { provider, closes };
	}
	// SES-5: within a second.
	const closed = (client: Client) =>
		waitFor<string>(
			`close of ${client.provider.configuration.name}`,
			(done) => {
				const [first] = client.closes;
				if (first !== undefined) return done(first);
				client.provider.on('close', ({ event }: { event: { reason: string } }) => done(event.reason));
			},
			1_000
		);

	it('SES-1: logout ends that token (REST 401, its sockets closed), not the user’s other tokens', async () => {
		const owner2 = await user('OWNER');
		const other = await t.login(owner2.email);
		const socket = await connect(`customer:${crypto.randomUUID()}`, owner2.token);
		const otherSocket = await connect(`customer:${crypto.randomUUID()}`, other);
		expect((await post('/api/auth/logout', owner2.token)).status).toBe(200);
		expect(await closed(socket)).toBe(sessionRevokedReason);
		expect(await me(owner2.token)).toMatchObject({ status: 401, body: { error: { code: 'token_revoked' } } });
		// Logging out twice: the token is already gone.
		expect((await post('/api/auth/logout', owner2.token)).status).toBe(401);
		expect((await me(other)).status).toBe(200);
		expect(otherSocket.closes).toEqual([]);
	});

	it('SES-2: revoke-sessions ends every token issued before it; a new login works', async () => {
		const u = await user();
		const second = await t.login(u.email);
		expect((await post(`/api/users/${u.id}/revoke-sessions`, ownerToken)).status).toBe(200);
		for (const token of [u.token, second]) {
			expect(await me(token)).toMatchObject({ status: 401, body: { error: { code: 'token_revoked' } } });
		}
		expect((await me(await t.login(u.email))).status).toBe(200);
	});

	/** An open event stream (board or sync API); `ended` resolves when the server ends it. */
	async function openStream(path: string, token: string) {
		const res = await fetch(`${t.http}${path}?token=${encodeURIComponent(token)}`);
		expect(res.status).toBe(200);
		const reader = (res.body as ReadableStream<Uint8Array>).getReader();
		let isEnded = false;
		const ended = (async () => {
			while (!(await reader.read()).done) {}
			isEnded = true;
		})();
		return { ended, isEnded: () => isEnded, cancel: () => reader.cancel() };
	}
	const endsWithinASecond = (stream: { ended: Promise<void> }, what: string) =>
		waitFor(what, (done) => void stream.ended.then(done), 1_000);

	it('SES-1/SES-3: event streams end with the session they rest on, like its sockets', async () => {
		const u = await user('OWNER');
		const other = await t.login(u.email);
		const board = await openStream('/api/board/events', u.token);
		const feed = await openStream('/api/sync/stream', u.token);
		const otherBoard = await openStream('/api/board/events', other);
		expect((await post('/api/auth/logout', u.token)).status).toBe(200);
		await endsWithinASecond(board, 'the logged-out board stream to end');
		await endsWithinASecond(feed, 'the logged-out sync stream to end');
		// Reopening with the ended token is refused; the user's other session streams on.
		expect((await fetch(`${t.http}/api/board/events?token=${u.token}`)).status).toBe(401);
		expect(otherBoard.isEnded()).toBe(false);
		expect((await post(`/api/users/${u.id}/disable`, ownerToken)).status).toBe(200);
		await endsWithinASecond(otherBoard, 'the disabled user’s board stream to end');
	});

	it('SES-3: a disabled user cannot log in and every token is refused; enabling does not revive old tokens', async () => {
		const u = await user('OWNER');
		const socket = await connect(`customer:${crypto.randomUUID()}`, u.token);
		expect((await post(`/api/users/${u.id}/disable`, ownerToken)).status).toBe(200);
		expect(await closed(socket)).toBe(sessionRevokedReason);
		expect(await me(u.token)).toMatchObject({ status: 401, body: { error: { code: 'user_disabled' } } });
		const login = await fetch(`${t.http}/api/auth/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ email: u.email, password: testPassword })
		});
		expect(login.status).toBe(403);
		expect(await login.json()).toMatchObject({ error: { code: 'user_disabled' } });

		expect((await post(`/api/users/${u.id}/enable`, ownerToken)).status).toBe(200);
		expect(await me(u.token)).toMatchObject({ status: 401, body: { error: { code: 'token_revoked' } } });
		expect((await me(await t.login(u.email))).status).toBe(200);
	});

	it('SES-6: a role change applies to open connections (demoted off a job it is not on → closed)', async () => {
		const u = await user('OWNER');
		const job = await connect(`job:${crypto.randomUUID()}`, u.token);
		const customer = await connect(`customer:${crypto.randomUUID()}`, u.token);
		expect((await post(`/api/users/${u.id}/role`, ownerToken, { role: 'WORKER' })).status).toBe(200);
		expect(await closed(job)).toBe(accessRevokedReason);
		expect(await closed(customer)).toBe(accessRevokedReason);
		// REST sees the new role at once (the cached session was dropped).
		expect(await me(u.token)).toMatchObject({ status: 200, body: { user: { role: 'WORKER' } } });
	});

	it('user administration is the owner’s, names the user, and refuses an owner acting on themselves', async () => {
		const worker = await user();
		const target = await user();
		for (const action of ['revoke-sessions', 'disable', 'enable']) {
			const res = await post(`/api/users/${target.id}/${action}`, worker.token);
			expect(res.status).toBe(403);
		}
		expect((await post(`/api/users/${crypto.randomUUID()}/disable`, ownerToken)).status).toBe(404);
		expect((await post('/api/users/not-a-uuid/revoke-sessions', ownerToken)).status).toBe(404);
		const self = (await me(ownerToken)).body as unknown as { user: { id: string } };
		const selfDisable = await post(`/api/users/${self.user.id}/disable`, ownerToken);
		expect(selfDisable.status).toBe(400);
		expect(await selfDisable.json()).toMatchObject({ error: { code: 'cannot_change_self' } });
		const badRole = await post(`/api/users/${target.id}/role`, ownerToken, { role: 'ADMIN' });
		expect(badRole.status).toBe(400);
		expect(await me(target.token)).toMatchObject({ status: 200 });
	});
});
