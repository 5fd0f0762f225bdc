import type { AddressInfo } from 'node:net';
import { type App, type AppOptions, createApp } from '../app.ts';
import type { Role } from '../auth/roles.ts';
import { createUser, type User } from '../auth/users.ts';
import { migrate } from '../db/migrate.ts';
import type { Db } from '../db/port.ts';
import { openTestPgDb, openTestPgliteDb } from '../db/testing.ts';

export type TestDbKind = 'pg' | 'pglite';

/** A migrated test database of either kind, with its teardown. */
export async function openMigratedTestDb(kind: TestDbKind): Promise<{ db: Db; drop(): Promise<void> }> {
	if (kind === 'pg') {
		const t = await openTestPgDb();
		await migrate(t.db);
		return { db: t.db, drop: () => t.dropSchema() };
	}
	const db = await openTestPgliteDb();
	await migrate(db);
	return { db, drop: () => db.close() };
}

export interface TestServer {
	app: App;
	db: Db;
	port: number;
	http: string;
	ws: string;
	/** Creates a user (1,000 PBKDF2 iterations: speed over strength in tests). */
	addUser(email: string, role: Role, password?: string): Promise<User>;
	/** Logs in over HTTP and returns the token. */
	login(email: string, password?: string): Promise<string>;
	/** Closes the app and then the database. */
	close(): Promise<void>;
}

export const testPassword = 'correct horse';
/** `createUser` options for tests: 1,000 PBKDF2 iterations, speed over strength. */
export const testUserOptions = { passwordIterations: 1_000 } as const;

/** Logs in at the server at `http` (`http://host:port`) and returns the token. */
export async function loginOver(http: string, email: string, password: string): Promise<string> {
	const res = await fetch(`${http}/api/auth/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email, password })
	});
	if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
	return ((await res.json()) as { token: string }).token;
}

/** The signing secret of test servers (never a deployment's). */
export const testAuthSecret = 'test-secret-test-secret-test-secret!';

/** A real server on 127.0.0.1, port 0, over a fresh migrated database. */
export async function startTestServer(
	kind: TestDbKind,
	options: Partial<Omit<AppOptions, 'db'>> | ((db: Db) => Partial<Omit<AppOptions, 'db'>>) = {}
): Promise<TestServer> {
	const { db, drop } = await openMigratedTestDb(kind);
	const extra = typeof options === 'function' ? options(db) : options;
	const app = await createApp({ db, authSecret: testAuthSecret, ...extra });
	return serveTestApp(app, db, async () => {
		try {
			await app.close();
		} finally {
			await drop();
		}
	});
}

/** Listens on 127.0.0.1, port 0, and wraps `app` with the helpers tests use; `close` is the caller's. */
export async function serveTestApp(app: App, db: Db, close: () => Promise<void>): Promise<TestServer> {
	const port = await app.listen(0);
	const host = (app.server.address() as AddressInfo).address;
	const http = `http://${host}:${port}`;
	return {
		app,
		db,
		port,
		http,
		ws: `ws://${host}:${port}/collab`,
		addUser: (email, role, password = testPassword) =>
			createUser(db, { email, role, password, name: email.split('@')[0] ?? email }, testUserOptions),
		login: (email, password = testPassword) => loginOver(http, email, password),
		close
	};
}

/** The one event wait of every test (tests/support/wait.ts), re-exported for the server's own tests. */
export { waitFor } from '../../tests/support/wait.ts';
