import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { waitUntil } from './wait.ts';

/**
 * Throwaway Postgres and Redis for one test run, started from the machine's installed server
 * binaries (Debian's packages) on free loopback ports, and stopped by their PIDs. The test command
 * starts these when it is not given `TEST_DATABASE_URL` / `TEST_REDIS_URL` (global-setup.ts), so a
 * fresh machine needs only the packages, never a running service.
 */
const run = promisify(execFile);

/** The one command that brings every binary this file starts. */
export const installServices = 'apt-get install -y postgresql redis-server';

export const servicesDefaults = {
	/** Postgres glob of Debian's server binaries; the newest major wins. */
	postgresRoot: '/usr/lib/postgresql',
	/** The OS user that owns the cluster when we run as root (Postgres refuses to run as root). */
	postgresOsUser: 'postgres',
	/** Room for every suite's pools at once (each suite opens its own, in parallel workers). */
	postgresMaxConnections: 200,
	database: 'test',
	startTimeoutMs: 60_000,
	stopTimeoutMs: 30_000
} as const;

export class MissingServiceError extends Error {
	readonly code = 'missing_binary';
	constructor(what: string) {
		super(`${what} is not installed; install it with: ${installServices}`);
		this.name = 'MissingServiceError';
	}
}

/** A port nobody listens on right now (the OS picks it); the service binds it a moment later. */
export async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const address = server.address();
	await new Promise<void>((resolve) => server.close(() => resolve()));
	if (!address || typeof address === 'string') throw new Error('no free port');
	return address.port;
}

/** True while a process with this PID exists (signal 0 checks without signalling). */
function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

export interface OwnService {
	url: string;
	pid: number;
	/** Stops the process by its PID and removes whatever it kept on disk. */
	stop(): Promise<void>;
}

async function postgresBin(root: string): Promise<string> {
	const majors = existsSync(root)
		? (await readdir(root)).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
		: [];
	const bin = majors
		.map((major) => join(root, major, 'bin'))
		.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
	if (!bin) throw new MissingServiceError(`The Postgres server (${root}/*/bin/initdb)`);
	return bin;
}

/**
 * initdb + pg_ctl in a fresh temp dir, trust auth, on 127.0.0.1 and a free port, with database
 * `test`. As root the cluster runs as the `postgres` OS user. Stopped by the postmaster's PID
 * (SIGINT is Postgres's fast shutdown), then its directory is removed.
 */
export async function startThrowawayPostgres(options: { postgresRoot?: string } = {}): Promise<OwnService> {
	const bin = await postgresBin(options.postgresRoot ?? servicesDefaults.postgresRoot);
	const dir = await mkdtemp(join(tmpdir(), 'khs-test-pg-'));
	const dataDir = join(dir, 'data');
	const asRoot = process.getuid?.() === 0;
	if (asRoot) {
		const user = servicesDefaults.postgresOsUser;
		const ids = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]).catch(() => {
			throw new MissingServiceError(`The '${user}' OS user (made by the postgresql package)`);
		});
		await chown(dir, Number(ids[0].stdout.trim()), Number(ids[1].stdout.trim()));
		await chmod(dir, 0o700);
	}
	const as = (cmd: string, args: string[]) =>
		asRoot ? run('runuser', ['-u', servicesDefaults.postgresOsUser, '--', cmd, ...args]) : run(cmd, args);
	const port = await freePort();
	try {
		// --no-sync only skips initdb's own final flush; the server keeps fsync on.
		await as(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync']);
		const options = [
			`-p ${port}`,
			`-k ${dir}`,
			'-c listen_addresses=127.0.0.1',
			`-c max_connections=${servicesDefaults.postgresMaxConnections}`
		].join(' ');
		const timeoutS = String(Math.ceil(servicesDefaults.startTimeoutMs / 1000));
		await as(join(bin, 'pg_ctl'), [
			'-D',
			dataDir,
			'-w',
			'-t',
			timeoutS,
			'-o',
			options,
			'-l',
			join(dir, 'log'),
			'start'
		]);
	} catch (error) {
		const log = await readFile(join(dir, 'log'), 'utf8').catch(() => '');
		await rm(dir, { recursive: true, force: true });
		throw new Error(`throwaway Postgres did not start: ${(error as Error).message}\n${log}`);
	}
	const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
	const stop = async () => {
		if (alive(pid)) {
			process.kill(pid, 'SIGINT');
			await waitUntil(() => !alive(pid), {
				timeoutMs: servicesDefaults.stopTimeoutMs,
				what: `Postgres (pid ${pid}) to stop`
			});
		}
		await rm(dir, { recursive: true, force: true });
	};
	const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
	try {
		await admin.connect();
		await admin.query(`CREATE DATABASE ${servicesDefaults.database}`);
	} catch (error) {
		await stop();
		throw error;
	} finally {
		await admin.end().catch(() => {});
	}
	return { url: `postgres://postgres@127.0.0.1:${port}/${servicesDefaults.database}`, pid, stop };
}

function onPath(command: string): boolean {
	return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

/** `redis-server --port <free> --save '' --appendonly no --bind 127.0.0.1`; nothing on disk. */
export async function startThrowawayRedis(options: { command?: string } = {}): Promise<OwnService> {
	const command = options.command ?? 'redis-server';
	if (!onPath(command)) throw new MissingServiceError(command);
	const port = await freePort();
	const child: ChildProcess = spawn(
		command,
		['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'],
		{ stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() }
	);
	const pid = child.pid;
	if (pid === undefined) throw new MissingServiceError('redis-server');
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	let out = '';
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(
			() =>
				reject(new Error(`redis-server did not start within ${servicesDefaults.startTimeoutMs} ms: ${out}`)),
			servicesDefaults.startTimeoutMs
		);
		child.stdout?.on('data', (chunk: Buffer) => {
			out += chunk.toString();
			if (out.includes('Ready to accept connections')) {
				clearTimeout(timer);
				resolve();
			}
		});
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`redis-server exited (${code}) before it was ready: ${out}`));
		});
	});
	// Keep draining its output, or a chatty server would block on a full pipe.
	child.stdout?.resume();
	child.stderr?.resume();
	return {
		url: `redis://127.0.0.1:${port}`,
		pid,
		async stop() {
			if (child.exitCode !== null || child.signalCode !== null) return;
			process.kill(pid, 'SIGTERM');
			await exited;
		}
	};
}
