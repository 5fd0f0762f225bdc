import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssembledServer, assembleServer } from '../assemble.ts';
import { createUser } from '../auth/users.ts';
import { silentLogger } from '../logger.ts';
import { loginOver, openMigratedTestDb, testPassword, testUserOptions } from '../testing/app.ts';

// docs/server-rules.md HTTP-1 (entity names are own keys only) and HTTP-2 (a body over the limit
// always gets its 413), against the production assembly on real Postgres over real HTTP.
describe('clear answers to bad requests', () => {
	let drop: () => Promise<void>;
	let server: AssembledServer;
	let http: string;
	let token: string;

	beforeAll(async () => {
		const opened = await openMigratedTestDb('pg');
		drop = opened.drop;
		await createUser(
			opened.db,
			{ email: 'owner@bad.test', name: 'Owner', role: 'OWNER', password: testPassword },
			testUserOptions
		);
		server = await assembleServer({
			db: opened.db,
			logger: silentLogger(),
			authSecret: 'bad-requests-secret-bad-requests!'
		});
		http = `http://127.0.0.1:${await server.app.listen(0)}`;
		token = await loginOver(http, 'owner@bad.test', testPassword);
	});
	afterAll(async () => {
		await server?.close();
		await drop?.();
	});

	const get = (path: string) => fetch(`${http}${path}`, { headers: { authorization: `Bearer ${token}` } });
	const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

	it('HTTP-1: Object.prototype names in a path answer 404 with a JSON error', async () => {
		for (const name of names) {
			const res = await get(`/api/sync/checksums/${encodeURIComponent(name)}`);
			expect(res.status, name).toBe(404);
			expect(await res.json()).toMatchObject({ error: { code: 'unknown_entity', field: 'entity' } });
		}
		expect((await get('/api/sync/checksums/materials')).status).toBe(200);
	});

	it('HTTP-1: Object.prototype names in a query answer 400 with a JSON error', async () => {
		for (const name of names) {
			const res = await get(`/api/sync/pull?entities=${encodeURIComponent(name)}`);
			expect(res.status, name).toBe(400);
			expect(await res.json()).toMatchObject({ error: { code: 'unknown_entity', field: 'entities' } });
		}
		const mixed = await get('/api/sync/pull?entities=jobs,__proto__');
		expect(mixed.status).toBe(400);
		expect((await get('/api/sync/pull?entities=jobs')).status).toBe(200);
	});

	it('HTTP-2: 20 pushes of 20 MB each all get their 413 (no reset while the client is still sending)', async () => {
		const body = new Uint8Array(20 * 1024 * 1024).fill(0x20);
		const statuses: Array<number | string> = [];
		for (let i = 0; i < 20; i++) {
			try {
				const res = await fetch(`${http}/api/sync/push`, {
					method: 'POST',
					headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
					body
				});
				statuses.push(res.status);
				expect(await res.json()).toMatchObject({ error: { code: 'body_too_large' } });
			} catch (error) {
				statuses.push(String((error as { cause?: { code?: string } }).cause?.code ?? error));
			}
		}
		expect(statuses).toEqual(Array(20).fill(413));
	});

	it('HTTP-2: a 20 MB body without a token gets its 401 the same way, and the connection stays usable', async () => {
		const body = new Uint8Array(20 * 1024 * 1024).fill(0x20);
		for (let i = 0; i < 5; i++) {
			const res = await fetch(`${http}/api/sync/push`, { method: 'POST', body });
			expect(res.status).toBe(401);
			await res.arrayBuffer();
		}
		expect((await get('/api/sync/status')).status).toBe(200);
	});
});
