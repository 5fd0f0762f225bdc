import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * Postgres and Redis owned by one fault scenario. Stopping the machine's shared Postgres or Redis
 * would break every other suite running at the same time, so the scenarios that take a database
 * down start their own, on a free loopback port, and stop only that (by its data dir or PID).
 */
const run = promisify(execFile);

export async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const address = server.address();
	await new Promise<void>((resolve) => server.close(() => resolve()));
	if (!address || typeof address === 'string') throw new Error('no free port');
	return address.port;
}

async function pgBinDir(): Promise<{ bin: string; version: string }> {
	const versions = (await readdir('/etc/postgresql')).filter((v) => /^\d+$/.test(v)).sort((a, b) => +b - +a);
	const version = versions[0];
	if (!version) throw new Error('no Postgres under /etc/postgresql');
	return { bin: `/usr/lib/postgresql/${version}/bin`, version };
}

/** The machine's Postgres major version (for the fault record). */
export async function postgresVersion(): Promise<string> {
	const { bin } = await pgBinDir();
	const { stdout } = await run(`${bin}/postgres`, ['--version']);
	return stdout.trim();
}

export interface OwnPostgres {
	port: number;
	/** `postgres://postgres@127.0.0.1:<port>/postgres` */
	url: string;
	start(): Promise<void>;
	/** Fast shutdown (`pg_ctl -m fast`): connections are closed, as on a restart by an operator. */
	stop(): Promise<void>;
	restart(): Promise<void>;
	destroy(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/** initdb + pg_ctl in a temp dir; as root, run as the `postgres` OS user (Postgres refuses root). */
export async function startOwnPostgres(): Promise<OwnPostgres> {
	const { bin } = await pgBinDir();
	const dir = await mkdtemp(join(tmpdir(), 'khs-faults-pg-'));
	const dataDir = join(dir, 'data');
	const port = await freePort();
	if (asRoot) {
		const { stdout } = await run('id', ['-u', 'postgres']);
		const uid = Number(stdout.trim());
		const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
		await chown(dir, uid, gid);
		await chmod(dir, 0o700);
	}
	const as = (cmd: string, args: string[]) =>
		asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
	await as(`${bin}/initdb`, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync']);
	const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
	const ctl = (...args: string[]) => as(`${bin}/pg_ctl`, ['-D', dataDir, '-w', '-t', '60', ...args]);
	const own: OwnPostgres = {
		port,
		url: `postgres://postgres@127.0.0.1:${port}/postgres`,
		start: async () => {
			await ctl('-o', options, '-l', join(dir, 'log'), 'start');
		},
		stop: async () => {
			await ctl('-m', 'fast', 'stop');
		},
		restart: async () => {
			await ctl('-m', 'fast', '-o', options, '-l', join(dir, 'log'), 'restart');
		},
		destroy: async () => {
			await ctl('-m', 'immediate', 'stop').catch(() => {});
			await rm(dir, { recursive: true, force: true });
		}
	};
	await own.start();
	return own;
}

/** True once a plain connection to `url` answers `SELECT 1`. */
export async function pgAnswers(url: string): Promise<boolean> {
	const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
	try {
		await client.connect();
		await client.query('SELECT 1');
		return true;
	} catch {
		return false;
	} finally {
		await client.end().catch(() => {});
	}
}

export interface OwnRedis {
	port: number;
	url: string;
	start(): Promise<void>;
	stop(): Promise<void>;
	destroy(): Promise<void>;
}

/** `redis-server --port <free> --save '' --appendonly no`, stopped by its PID. */
export async function startOwnRedis(): Promise<OwnRedis> {
	const port = await freePort();
	let proc: ChildProcess | undefined;
	let exited: Promise<void> = Promise.resolve();
	const own: OwnRedis = {
		port,
		url: `redis://127.0.0.1:${port}`,
		async start() {
			const child = spawn(
				'redis-server',
				['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
				{
					stdio: ['ignore', 'pipe', 'pipe']
				}
			);
			proc = child;
			exited = new Promise((resolve) => child.once('exit', () => resolve()));
			await new Promise<void>((resolve, reject) => {
				let out = '';
				child.stdout?.on('data', (chunk: Buffer) => {
					out += chunk.toString();
					if (out.includes('Ready to accept connections')) resolve();
				});
				child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
			});
		},
		async stop() {
			if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
			proc.kill('SIGKILL');
			await exited;
		},
		destroy() {
			return own.stop();
		}
	};
	await own.start();
	return own;
}
