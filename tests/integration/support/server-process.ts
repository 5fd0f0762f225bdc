import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createUser } from '../../../server/auth/users.ts';
import { migrate } from '../../../server/db/migrate.ts';
import type { Db } from '../../../server/db/port.ts';
import { openTestPgDb, testDatabaseUrl } from '../../../server/db/testing.ts';
import { loginOver, testUserOptions, waitFor } from '../../../server/testing/app.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A fresh migrated schema on the test Postgres, and the `DATABASE_URL` that points a server at it. */
export interface TestDatabase {
	db: Db;
	schema: string;
	/** `TEST_DATABASE_URL` with `options=-c search_path=<schema>` (pg honours it in the startup packet). */
	databaseUrl: string;
	/** Creates a user straight in the database (1,000 PBKDF2 iterations: tests, not strength). */
	addUser(email: string, role: 'OWNER' | 'WORKER'): Promise<{ id: string }>;
	drop(): Promise<void>;
}

export const testUserPassword = 'correct horse battery';

export async function openTestDatabase(): Promise<TestDatabase> {
	const t = await openTestPgDb();
	await migrate(t.db);
	const url = new URL(testDatabaseUrl);
	url.searchParams.set('options', `-c search_path=${t.schema}`);
	return {
		db: t.db,
		schema: t.schema,
		databaseUrl: url.toString(),
		addUser: (email, role) =>
			createUser(
				t.db,
				{ email, role, name: email.split('@')[0] ?? email, password: testUserPassword },
				testUserOptions
			),
		drop: () => t.dropSchema()
	};
}

export interface ServerProcess {
	proc: ChildProcess;
	pid: number;
	port: number;
	http: string;
	ws: string;
	/** Every JSON log line so far. */
	logs: Array<Record<string, unknown>>;
	/** Everything written to stderr so far (an uncaught error's stack lands here, not in the logs). */
	stderr: string[];
	/** Settles when the process has exited. */
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `node scripts/start.mjs` exactly as `npm start` runs it (SKIP_BUILD: pages are not under test), on
 * 127.0.0.1 and a port the OS picks; the port is read from the pino `listening` line.
 */
export async function startServerProcess(options: {
	databaseUrl: string;
	env?: Record<string, string>;
	nodeArgs?: string[];
	startTimeoutMs?: number;
	/** Another entry point (benchmarks: bare Hocuspocus); it must log `{"msg":"listening","port":…}`. */
	script?: string;
	/** Open an IPC channel (benchmarks ask the child for its memory figures). */
	ipc?: boolean;
}): Promise<ServerProcess> {
	const script = options.script ?? 'scripts/start.mjs';
	const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
		cwd: root,
		env: {
			...process.env,
			SKIP_BUILD: '1',
			PORT: '0',
			HOST: '127.0.0.1',
			DATABASE_URL: options.databaseUrl,
			AUTH_SECRET: 'integration-secret-integration-secret',
			SEED_DEMO: '0',
			LOG_LEVEL: 'info',
			...options.env
		},
		stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe']
	});
	if (proc.pid === undefined) throw new Error('server process did not start');
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
		proc.once('exit', (code, signal) => resolve({ code, signal }))
	);
	const logs: Array<Record<string, unknown>> = [];
	const stderr: string[] = [];
	proc.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
	const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
	const listening = waitFor<number>(
		'the server process to log "listening"',
		(done) => {
			lines.on('line', (line) => {
				let entry: Record<string, unknown>;
				try {
					entry = JSON.parse(line) as Record<string, unknown>;
				} catch {
					return;
				}
				logs.push(entry);
				if (entry.msg === 'listening') done(entry.port as number);
			});
		},
		options.startTimeoutMs ?? 30_000
	);
	const died = exited.then(({ code, signal }) => {
		throw new Error(`server process exited before listening (${code ?? signal}): ${stderr.join('')}`);
	});
	const port = await Promise.race([listening, died]);
	return {
		proc,
		pid: proc.pid,
		port,
		http: `http://127.0.0.1:${port}`,
		ws: `ws://127.0.0.1:${port}/collab`,
		logs,
		stderr,
		exited
	};
}

/** Stops a process we started (by its own handle), if it is still running. */
export async function killIfRunning(server: ServerProcess | undefined): Promise<void> {
	if (!server || server.proc.exitCode !== null || server.proc.signalCode !== null) return;
	server.proc.kill('SIGKILL');
	await server.exited;
}

export function login(http: string, email: string, password = testUserPassword): Promise<string> {
	return loginOver(http, email, password);
}
