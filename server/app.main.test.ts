import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { HocuspocusProvider } from '@hocuspocus/provider';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HybridClock, JobDoc, type WriteContext } from '../crdt/index.ts';
import { waitFor } from './testing/app.ts';

interface Running {
	proc: ChildProcess;
	port: number;
	logs: Array<Record<string, unknown>>;
}

// The real process (server/main.ts): env config, PGlite in DATA_DIR, migrations, demo seed, JSON logs,
// persistence, and a clean exit 0 on SIGTERM with a client connected.
describe('server process', () => {
	const children: ChildProcess[] = [];
	let dataDir: string | undefined;
	afterAll(async () => {
		for (const child of children)
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		if (dataDir) await rm(dataDir, { recursive: true, force: true });
	});

	async function start(dir: string): Promise<Running> {
		const proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
			env: {
				...process.env,
				PORT: '0',
				HOST: '127.0.0.1',
				DATA_DIR: dir,
				DATABASE_URL: '',
				LOG_LEVEL: 'info'
			},
			stdio: ['ignore', 'pipe', 'inherit']
		});
		children.push(proc);
		const logs: Array<Record<string, unknown>> = [];
		const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
		const port = await waitFor<number>(
			'listening log line',
			(done) =>
				lines.on('line', (line) => {
					const entry = JSON.parse(line) as Record<string, unknown>;
					logs.push(entry);
					if (entry.msg === 'listening') done(entry.port as number);
				}),
			45_000
		);
		return { proc, port, logs };
	}

	function connect(port: number, name: string, token: string): HocuspocusProvider {
		return new HocuspocusProvider({
			url: `ws://127.0.0.1:${port}/collab`,
			name,
			token,
			document: new Y.Doc()
		});
	}

	it('starts on PGlite, exits 0 on SIGTERM, and keeps documents and tokens across restarts', async () => {
		dataDir = await mkdtemp(join(tmpdir(), 'khs-main-'));
		const first = await start(dataDir);
		const login = await fetch(`http://127.0.0.1:${first.port}/api/auth/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ email: 'owner@khs.demo', password: 'demo1234' })
		});
		expect(login.status).toBe(200);
		const { token, user } = (await login.json()) as { token: string; user: { id: string } };
		// A real edit through the crdt views: anything else is malformed and refused (WRITE-*).
		const ctx: WriteContext = {
			writer: { userId: user.id, deviceId: 'main-test', role: 'OWNER' },
			clock: new HybridClock()
		};
		const jobId = crypto.randomUUID();

		const name = `job:${jobId}`;
		const writer = connect(first.port, name, token);
		try {
			await waitFor('synced', (done) => writer.on('synced', () => done()));
			new JobDoc(writer.document, jobId, ctx).create({ title: 'bring the ladder' });
			await waitFor('update acknowledged', (done) => {
				if (writer.unsyncedChanges === 0) return done();
				writer.on('unsyncedChanges', ({ number }: { number: number }) => number === 0 && done());
			});
			const exited = waitFor<number | null>(
				'exit',
				(done) => first.proc.once('exit', (code) => done(code)),
				20_000
			);
			const disconnected = waitFor('disconnect', (done) => writer.on('disconnect', () => done()));
			first.proc.kill('SIGTERM');
			expect(await exited).toBe(0);
			await disconnected;
			expect(first.logs.map((l) => l.msg)).toContain('stopped');
		} finally {
			writer.destroy();
		}

		// Same data directory: the edit was stored and the old token still verifies (stored key).
		const second = await start(dataDir);
		const reader = connect(second.port, name, token);
		try {
			await waitFor('synced again', (done) => reader.on('synced', () => done()));
			expect(new JobDoc(reader.document, jobId, ctx).read()?.title).toBe('bring the ladder');
		} finally {
			reader.destroy();
			const exited = waitFor<number | null>(
				'exit',
				(done) => second.proc.once('exit', (code) => done(code)),
				20_000
			);
			second.proc.kill('SIGTERM');
			expect(await exited).toBe(0);
		}
	});
});
