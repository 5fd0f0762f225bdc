import { HocuspocusProvider } from '@hocuspocus/provider';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { privateNotesDocName } from '../../crdt/doc-names.ts';
import { assembleServer } from '../assemble.ts';
import { countUsers } from '../auth/users.ts';
import { sessionRevokedReason } from '../collab/revoke.ts';
import {
	loginOver,
	openMigratedTestDb,
	serveTestApp,
	type TestServer,
	testAuthSecret,
	waitFor
} from '../testing/app.ts';
import { NewUserResponseSchema, TeamResponseSchema } from './user-schemas.ts';

// docs/server-rules.md "Team" TEAM-1…3 (and SES-3/SES-5 for a member added this way), over real
// HTTP and real websockets on real Postgres, as raw clients would call it.
describe('the owner adds and disables team members', () => {
	let t: TestServer;
	let ownerToken: string;
	let workerToken: string;
	const logLines: string[] = [];
	const providers: HocuspocusProvider[] = [];

	beforeAll(async () => {
		// Every log line at every level, to check that no password is ever written (TEAM-2).
		const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
		// The production wiring (assembleServer), so `GET /api/users` of the board routes is there too.
		const { db, drop } = await openMigratedTestDb('pg');
		const server = await assembleServer({ db, logger, authSecret: testAuthSecret });
		t = await serveTestApp(server.app, db, async () => {
			try {
				await server.close();
			} finally {
				await drop();
			}
		});
		await t.addUser('owner@team.test', 'OWNER');
		await t.addUser('worker@team.test', 'WORKER');
		ownerToken = await t.login('owner@team.test');
		workerToken = await t.login('worker@team.test');
	});
	afterAll(async () => {
		for (const p of providers) p.destroy();
		await t?.close();
	});

	const call = (method: string, path: string, token: string | null, body?: unknown) =>
		fetch(`${t.http}${path}`, {
			method,
			headers: {
				...(token ? { authorization: `Bearer ${token}` } : {}),
				'content-type': 'application/json'
			},
			...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) })
		});
	const create = (body: unknown, token: string | null = ownerToken) =>
		call('POST', '/api/users', token, body);
	const team = async () =>
		TeamResponseSchema.parse(await (await call('GET', '/api/team', ownerToken)).json());
	const errorOf = async (res: Response) =>
		((await res.json()) as { error: { code: string; field?: string } }).error;

	let n = 0;
	const fresh = (over: Record<string, unknown> = {}) => ({
		name: `Member ${++n}`,
		email: `member${n}@team.test`,
		role: 'WORKER',
		password: `first-password-${n}`,
		...over
	});

	it('TEAM-1: a worker gets 403 on create and on the team list, and nothing is created', async () => {
		const before = await countUsers(t.db);
		const res = await create(fresh(), workerToken);
		expect(res.status).toBe(403);
		expect(await errorOf(res)).toMatchObject({ code: 'forbidden' });
		const list = await call('GET', '/api/team', workerToken);
		expect(list.status).toBe(403);
		expect(await countUsers(t.db)).toBe(before);
		// No token at all: 401.
		expect((await create(fresh(), null)).status).toBe(401);
		expect((await call('GET', '/api/team', null)).status).toBe(401);
		expect(await countUsers(t.db)).toBe(before);
	});

	it('TEAM-2: the owner adds a member (201, public shape, email normalised) who can then log in', async () => {
		const input = fresh({
			name: '  Cara Costa ',
			email: '  Cara.Costa@Team.TEST ',
			password: 'roof-tiles-8'
		});
		const res = await create(input);
		expect(res.status).toBe(201);
		const body = NewUserResponseSchema.strict().parse(await res.json());
		expect(body.user).toEqual({ id: expect.any(String), name: 'Cara Costa', role: 'WORKER' });
		expect(Object.keys(body.user).sort()).toEqual(['id', 'name', 'role']);

		const member = (await team()).find((m) => m.id === body.user.id);
		expect(member).toMatchObject({ email: 'cara.costa@team.test', disabled: false, role: 'WORKER' });

		// Any case of the email logs in with the first password.
		const token = await loginOver(t.http, 'CARA.costa@team.test', 'roof-tiles-8');
		const me = await call('GET', '/api/auth/me', token);
		expect(await me.json()).toEqual({ user: body.user });
	});

	it('TEAM-2: an email already in use (any case, any spaces) is 409 email_taken and nothing is created', async () => {
		const first = fresh();
		expect((await create(first)).status).toBe(201);
		const before = await countUsers(t.db);
		for (const email of [first.email, ` ${first.email.toUpperCase()} `, 'owner@team.test']) {
			const res = await create(fresh({ email }));
			expect(res.status, email).toBe(409);
			expect(await errorOf(res)).toMatchObject({ code: 'email_taken', field: 'email' });
		}
		expect(await countUsers(t.db)).toBe(before);
	});

	it('TEAM-2: bad input is 400 naming the field, and nothing is created', async () => {
		const before = await countUsers(t.db);
		const cases: Array<[string, unknown, string | undefined]> = [
			['password of 7 characters', fresh({ password: '1234567' }), 'password'],
			['password over 72 bytes', fresh({ password: 'é'.repeat(40) }), 'password'],
			['password not a string', fresh({ password: 12345678 }), 'password'],
			['no password', { ...fresh(), password: undefined }, 'password'],
			['blank name', fresh({ name: '   ' }), 'name'],
			['name over 200 characters', fresh({ name: 'x'.repeat(201) }), 'name'],
			['email without @', fresh({ email: 'cara.team.test' }), 'email'],
			['unknown role', fresh({ role: 'ADMIN' }), 'role'],
			['role in lower case', fresh({ role: 'owner' }), 'role'],
			['an extra key', fresh({ disabled: true }), undefined],
			['an array', [fresh()], undefined],
			['null', null, undefined],
			['a prototype key', { ...fresh(), ['__proto__']: { role: 'OWNER' } }, undefined]
		];
		for (const [what, body, field] of cases) {
			const res = await create(body);
			expect(res.status, what).toBe(400);
			const error = await errorOf(res);
			expect(['invalid_request', 'invalid_field'], what).toContain(error.code);
			if (field) expect(error.field, what).toBe(field);
		}
		const malformed = await create('{"name":');
		expect(malformed.status).toBe(400);
		expect(await errorOf(malformed)).toMatchObject({ code: 'malformed_json' });
		expect(await countUsers(t.db)).toBe(before);
	});

	it('TEAM-2: no password is ever written to a log line or an answer', async () => {
		const secret = 'never-log-this-7f3a';
		const created = await create(fresh({ password: secret }));
		expect(created.status).toBe(201);
		expect(await created.text()).not.toContain(secret);
		const tooShort = `s3cr!${crypto.randomUUID().slice(0, 2)}`;
		const refused = await create(fresh({ password: tooShort }));
		expect(await refused.text()).not.toContain(tooShort);
		expect(logLines.some((l) => l.includes('user created'))).toBe(true);
		expect(logLines.filter((l) => l.includes(secret) || l.includes(tooShort))).toEqual([]);
	});

	it('TEAM-3: everyone sees id, name and role in /api/users; email and disabled are only in /api/team', async () => {
		const res = await call('GET', '/api/users', workerToken);
		const users = (await res.json()) as Array<Record<string, unknown>>;
		expect(users.length).toBeGreaterThan(2);
		for (const u of users) expect(Object.keys(u).sort()).toEqual(['id', 'name', 'role']);
		const members = await team();
		expect(members.length).toBe(users.length);
		expect(members.find((m) => m.email === 'worker@team.test')).toMatchObject({ disabled: false });
	});

	it('the OpenAPI document names the create request and the team list', async () => {
		const doc = (await (await call('GET', '/api/openapi.json', ownerToken)).json()) as {
			paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
			components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
		};
		expect(Object.keys(doc.paths['/api/users'] ?? {}).sort()).toEqual(['get', 'post']);
		expect(Object.keys(doc.paths['/api/users']?.post?.responses ?? {})).toEqual(
			expect.arrayContaining(['201', '400', '403', '409'])
		);
		expect(doc.paths['/api/team']?.get).toBeDefined();
		expect(doc.components.schemas.NewUserRequest?.required?.sort()).toEqual([
			'email',
			'name',
			'password',
			'role'
		]);
	});

	it('SES-3/SES-5: disabling a member added here closes their open websocket and their token gets 401', async () => {
		const input = fresh();
		const { user } = NewUserResponseSchema.parse(await (await create(input)).json());
		const token = await loginOver(t.http, input.email, input.password);

		const closes: string[] = [];
		const provider = new HocuspocusProvider({
			url: t.ws,
			// A worker on no job may still open their own private notes (access.ts).
			name: privateNotesDocName(crypto.randomUUID(), user.id),
			token,
			document: new Y.Doc()
		});
		providers.push(provider);
		provider.on('close', ({ event }: { event: { reason: string } }) => closes.push(event.reason));
		await waitFor('the member’s document to sync', (done) => {
			if (provider.isSynced) return done();
			provider.on('synced', () => done());
		});

		const closed = waitFor<string>(
			'the member’s socket to close',
			(done) => {
				if (closes[0] !== undefined) return done(closes[0]);
				provider.on('close', ({ event }: { event: { reason: string } }) => done(event.reason));
			},
			1_000
		);
		expect((await call('POST', `/api/users/${user.id}/disable`, ownerToken)).status).toBe(200);
		expect(await closed).toBe(sessionRevokedReason);
		const me = await call('GET', '/api/auth/me', token);
		expect(me.status).toBe(401);
		expect(await errorOf(me)).toMatchObject({ code: 'user_disabled' });
		expect((await team()).find((m) => m.id === user.id)).toMatchObject({ disabled: true });

		expect((await call('POST', `/api/users/${user.id}/enable`, ownerToken)).status).toBe(200);
		expect((await team()).find((m) => m.id === user.id)).toMatchObject({ disabled: false });
		expect(
			(await call('GET', '/api/auth/me', await loginOver(t.http, input.email, input.password))).status
		).toBe(200);
	});
});
