import { gzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import type { Db } from '../db/port.ts';
import { startTestServer, type TestServer, testPassword } from '../testing/app.ts';

const testMetricsToken = 'metrics-token-for-tests';

describe.each(['pg', 'pglite'] as const)('HTTP API on %s', (kind) => {
	let t: TestServer;
	let ownerId: string;

	beforeAll(async () => {
		t = await startTestServer(kind, { maxBodyBytes: 64 * 1024, metricsToken: testMetricsToken });
		ownerId = (await t.addUser('Olga@KHS.test', 'OWNER')).id;
	});
	afterAll(async () => {
		await t?.close();
	});

	const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
		fetch(`${t.http}${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...headers },
			body:
				typeof body === 'string'
					? body
					: body instanceof Uint8Array
						? new Uint8Array(body)
						: JSON.stringify(body)
		});

	it('logs in (email in any case) and the token authenticates', async () => {
		const res = await post('/api/auth/login', { email: 'olga@khs.TEST', password: testPassword });
		expect(res.status).toBe(200);
		const body = (await res.json()) as { token: string; user: unknown };
		expect(body.user).toEqual({ id: ownerId, name: 'Olga', role: 'OWNER' });
		expect(typeof body.token).toBe('string');

		const me = await fetch(`${t.http}/api/auth/me`, { headers: { authorization: `Bearer ${body.token}` } });
		expect(me.status).toBe(200);
		expect(await me.json()).toEqual({ user: { id: ownerId, name: 'Olga', role: 'OWNER' } });
	});

	it('answers 401 with one message for unknown email and wrong password', async () => {
		const unknown = await post('/api/auth/login', { email: 'nobody@khs.test', password: testPassword });
		const wrong = await post('/api/auth/login', { email: 'olga@khs.test', password: 'wrong password' });
		expect(unknown.status).toBe(401);
		expect(wrong.status).toBe(401);
		const a = await unknown.json();
		expect(a).toEqual({ error: { code: 'invalid_credentials', message: 'Email or password is incorrect' } });
		expect(await wrong.json()).toEqual(a);
	});

	it('a password hashed by bcrypt before still logs in, and that login replaces its hash', async () => {
		const user = await t.addUser('bruno@khs.test', 'WORKER');
		const hashOf = async () =>
			(await t.db.query<{ h: string }>('SELECT password_hash AS h FROM users WHERE id = $1', [user.id]))
				.rows[0]?.h;
		const old = bcrypt.hashSync(testPassword, 4);
		await t.db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, old]);
		expect(
			(await post('/api/auth/login', { email: 'bruno@khs.test', password: 'not it at all' })).status
		).toBe(401);
		expect(await hashOf()).toBe(old);
		expect((await post('/api/auth/login', { email: 'bruno@khs.test', password: testPassword })).status).toBe(
			200
		);
		const upgraded = await hashOf();
		expect(upgraded).toMatch(/^\$pbkdf2-sha256\$i=600000\$/);
		expect((await post('/api/auth/login', { email: 'bruno@khs.test', password: testPassword })).status).toBe(
			200
		);
		expect(await hashOf()).toBe(upgraded);
	});

	it('answers 429 after too many failed logins for one account', async () => {
		await t.addUser('target@khs.test', 'WORKER');
		let last = 0;
		for (let i = 0; i < 11; i++) {
			last = (await post('/api/auth/login', { email: 'target@khs.test', password: `guess-${i}` })).status;
		}
		expect(last).toBe(429);
		const blocked = await post('/api/auth/login', { email: 'target@khs.test', password: testPassword });
		expect(blocked.status).toBe(429);
		expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
		// Other accounts are unaffected.
		expect((await post('/api/auth/login', { email: 'olga@khs.test', password: testPassword })).status).toBe(
			200
		);
	});

	it('answers 400 for malformed bodies, naming the field', async () => {
		const notJson = await post('/api/auth/login', '{"email":');
		expect(notJson.status).toBe(400);
		expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('malformed_json');

		const noPassword = await post('/api/auth/login', { email: 'olga@khs.test' });
		expect(noPassword.status).toBe(400);
		expect(await noPassword.json()).toMatchObject({ error: { code: 'invalid_field', field: 'password' } });

		const array = await post('/api/auth/login', [1]);
		expect(array.status).toBe(400);
	});

	it('accepts a gzip body', async () => {
		const res = await post(
			'/api/auth/login',
			gzipSync(JSON.stringify({ email: 'olga@khs.test', password: testPassword })),
			{ 'content-encoding': 'gzip' }
		);
		expect(res.status).toBe(200);
	});

	it('answers 413 for a body over the limit, declared or streamed, and for a gzip bomb', async () => {
		const big = JSON.stringify({ email: 'olga@khs.test', password: 'x'.repeat(200 * 1024) });
		const declared = await post('/api/auth/login', big);
		expect(declared.status).toBe(413);
		expect(await declared.json()).toMatchObject({ error: { code: 'body_too_large' } });

		// No Content-Length: a streamed (chunked) body is cut off while reading.
		const stream = new ReadableStream<Uint8Array>({
			start(controller) {
				for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(16 * 1024).fill(32));
				controller.close();
			}
		});
		const chunked = await fetch(`${t.http}/api/auth/login`, {
			method: 'POST',
			body: stream,
			duplex: 'half'
		} as RequestInit);
		expect(chunked.status).toBe(413);

		const bomb = await post('/api/auth/login', gzipSync(Buffer.alloc(10 * 1024 * 1024, 32)), {
			'content-encoding': 'gzip'
		});
		expect(bomb.status).toBe(413);
	});

	it('rejects bad tokens with 401 and a reason code', async () => {
		const none = await fetch(`${t.http}/api/auth/me`);
		expect(none.status).toBe(401);
		expect(none.headers.get('www-authenticate')).toBe('Bearer');
		expect(await none.json()).toMatchObject({ error: { code: 'token_missing' } });

		const forged = await fetch(`${t.http}/api/auth/me`, { headers: { authorization: 'Bearer v1.e30.AAAA' } });
		expect(await forged.json()).toMatchObject({ error: { code: 'token_bad_signature' } });

		const stranger = t.app.tokens.sign({ sub: crypto.randomUUID(), role: 'OWNER', name: 'Ghost' });
		const ghost = await fetch(`${t.http}/api/auth/me`, { headers: { authorization: `Bearer ${stranger}` } });
		expect(ghost.status).toBe(401);
		expect(await ghost.json()).toMatchObject({ error: { code: 'unknown_user' } });

		const expired = t.app.tokens.sign({ sub: ownerId, role: 'OWNER', name: 'Olga' }, -1);
		const old = await fetch(`${t.http}/api/auth/me`, { headers: { authorization: `Bearer ${expired}` } });
		expect(await old.json()).toMatchObject({ error: { code: 'token_expired' } });
	});

	it('answers JSON 404 for unknown API routes and 405 for wrong methods', async () => {
		const missing = await fetch(`${t.http}/api/nope`);
		expect(missing.status).toBe(404);
		expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
		const wrong = await fetch(`${t.http}/api/auth/login`);
		expect(wrong.status).toBe(405);
		expect(wrong.headers.get('allow')).toBe('POST');
	});

	it('reports health and metrics', async () => {
		const health = await fetch(`${t.http}/healthz`);
		expect(health.status).toBe(200);
		expect(await health.json()).toEqual({ ok: true, db: 'up' });

		// OPS-1: never open to the world — no bearer, a wrong one, a user's token: 401.
		const anonymous = await fetch(`${t.http}/metrics`);
		expect(anonymous.status).toBe(401);
		expect(await anonymous.json()).toMatchObject({ error: { code: 'unauthorized' } });
		const wrong = await fetch(`${t.http}/metrics`, {
			headers: { authorization: `Bearer ${testMetricsToken.replace(/.$/, '!')}` }
		});
		expect(wrong.status).toBe(401);
		const res = await fetch(`${t.http}/metrics`, {
			headers: { authorization: `Bearer ${testMetricsToken}` }
		});
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toContain('text/plain');
		const text = await res.text();
		for (const name of [
			'khs_websocket_connections',
			'khs_documents_loaded',
			'khs_updates_received_total',
			'khs_store_duration_seconds',
			'khs_durability_lag_seconds',
			'khs_http_requests_total'
		]) {
			expect(text).toContain(name);
		}
	});

	it('OPS-1: serves no /metrics at all when METRICS_TOKEN is unset', async () => {
		const bare = await startTestServer(kind);
		try {
			const res = await fetch(`${bare.http}/metrics`, {
				headers: { authorization: 'Bearer anything-at-all' }
			});
			expect(res.status).toBe(404);
			expect(await res.text()).not.toContain('khs_');
		} finally {
			await bare.close();
		}
	});

	it('answers 404 for pages when there is no SvelteKit build', async () => {
		const res = await fetch(`${t.http}/some/page`);
		expect(res.status).toBe(404);
	});
});

describe('healthz with the database down', () => {
	it('answers 503', async () => {
		const down: Db = {
			kind: 'pg',
			query: () => Promise.reject(new Error('connection refused')),
			transaction: () => Promise.reject(new Error('connection refused')),
			close: async () => {}
		};
		const app = await createApp({ db: down, authSecret: 'x'.repeat(32) });
		try {
			const port = await app.listen(0);
			const res = await fetch(`http://127.0.0.1:${port}/healthz`);
			expect(res.status).toBe(503);
			expect(await res.json()).toEqual({ ok: false, db: 'down' });
		} finally {
			await app.close();
		}
	});
});
