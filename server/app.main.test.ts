import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { HocuspocusProvider } from '@hocuspocus/provider';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { waitFor } from './testing/app.ts';

// The real process (server/main.ts): env config, PGlite in DATA_DIR, migrations, demo seed, JSON logs,
// and a clean exit 0 on SIGTERM with a client connected.
describe('server process', () => {
	let child: ChildProcess | undefined;
	let dataDir: string | undefined;
	afterAll(async () => {
		if (child && child.exitCode === null) child.kill('SIGKILL');
		if (dataDir) await rm(dataDir, { recursive: true, force: true });
	});

	it('starts on PGlite, serves the demo login and exits 0 on SIGTERM', async () => {
		dataDir = await mkdtemp(join(tmpdir(), 'khs-main-'));
		const proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
			env: {
				...process.env,
				PORT: '0',
				HOST: '127.0.0.1',
				DATA_DIR: dataDir,
				DATABASE_URL: '',
				LOG_LEVEL: 'info'
			},
			stdio: ['ignore', 'pipe', 'inherit']
		});
		child = proc;
		const logs: Array<Record<string, unknown>> = [];
		const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
		const listening = waitFor<number>(
			'listening log line',
			(done) =>
				lines.on('line', (line) => {
					const entry = JSON.parse(line) as Record<string, unknown>;
					logs.push(entry);
					if (entry.msg === 'listening') done(entry.port as number);
				}),
			45_000
		);
		const port = await listening;
		const base = `http://127.0.0.1:${port}`;

		const login = await fetch(`${base}/api/auth/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ email: 'owner@khs.demo', password: 'demo1234' })
		});
		expect(login.status).toBe(200);
		const { token } = (await login.json()) as { token: string };

		const provider = new HocuspocusProvider({
			url: `ws://127.0.0.1:${port}/collab`,
			name: `job:${crypto.randomUUID()}`,
			token,
			document: new Y.Doc()
		});
		try {
			await waitFor('synced', (done) => provider.on('synced', () => done()));
			const exited = waitFor<number | null>(
				'exit',
				(done) => proc.once('exit', (code) => done(code)),
				20_000
			);
			const disconnected = waitFor('disconnect', (done) => provider.on('disconnect', () => done()));
			proc.kill('SIGTERM');
			expect(await exited).toBe(0);
			await disconnected;
			expect(logs.map((l) => l.msg)).toContain('stopped');
		} finally {
			provider.destroy();
		}
	});
});
