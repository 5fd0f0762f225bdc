import { request } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssembledServer, assembleServer } from '../../server/assemble.ts';
import { createUser } from '../../server/auth/users.ts';
import type { Db } from '../../server/db/port.ts';
import { openMigratedTestDb, testUserOptions } from '../../server/testing/app.ts';
import { seededRandom, testSeed } from '../support/random.ts';
import { MaterialWriter, synced } from './support/writers.ts';

// docs/server-rules.md "Login" (LOGIN-1…LOGIN-4): real HTTP against the production assembly on real
// Postgres (default pool of 10), requests sent from distinct loopback source addresses (127.0.0.x
// all reach a server listening on 127.0.0.1 on Linux).
const seed = testSeed();
console.log(`login-abuse.test.ts seed=${seed} (replay with TEST_SEED=${seed})`);
const password = 'correct horse battery';

interface Answer {
	status: number;
	headers: Record<string, string | string[] | undefined>;
	body: string;
}

/** POST JSON from `localAddress`, on a fresh connection. */
function postFrom(localAddress: string, url: string, body: unknown): Promise<Answer> {
	const data = Buffer.from(JSON.stringify(body));
	return new Promise((resolve, reject) => {
		const req = request(
			url,
			{
				method: 'POST',
				localAddress,
				agent: false,
				headers: { 'content-type': 'application/json', 'content-length': data.byteLength }
			},
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (c: Buffer) => chunks.push(c));
				res.on('end', () =>
					resolve({
						status: res.statusCode ?? 0,
						headers: res.headers,
						body: Buffer.concat(chunks).toString()
					})
				);
				res.on('error', reject);
			}
		);
		req.on('error', reject);
		req.end(data);
	});
}

describe('login that cannot be turned against users or the database', () => {
	let drop: () => Promise<void>;
	let db: Db;
	let server: AssembledServer;
	let http: string;
	let ws: string;
	let ownerId: string;
	const logs: Array<{ msg?: string; level?: number }> = [];

	beforeAll(async () => {
		({ db, drop } = await openMigratedTestDb('pg'));
		ownerId = (
			await createUser(
				db,
				{ email: 'owner@login.test', name: 'Owner', role: 'OWNER', password },
				testUserOptions
			)
		).id;
		await createUser(
			db,
			{ email: 'victim@login.test', name: 'Vic', role: 'WORKER', password },
			testUserOptions
		);
		// Every log line of the server, to check that honest edits were never retried.
		const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
		server = await assembleServer({ db, logger, authSecret: 'login-abuse-secret-login-abuse-secret' });
		const port = await server.app.listen(0);
		http = `http://127.0.0.1:${port}`;
		ws = `ws://127.0.0.1:${port}/collab`;
	});

	afterAll(async () => {
		await server?.close();
		await drop?.();
	});

	it('LOGIN-1/LOGIN-2: a guesser cannot lock a person out; the right password from another address gets in at once', async () => {
		const url = `${http}/api/auth/login`;
		const statuses: number[] = [];
		for (let i = 0; i < 20; i++) {
			statuses.push(
				(await postFrom('127.0.0.2', url, { email: 'victim@login.test', password: `guess-${i}` })).status
			);
		}
		expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
		expect(statuses.at(-1)).toBe(429);
		// The guesser's own address is held back even with the right password…
		const guesser = await postFrom('127.0.0.2', url, { email: 'victim@login.test', password });
		expect(guesser.status).toBe(429);
		expect(Number(guesser.headers['retry-after'])).toBeGreaterThan(0);
		expect(JSON.parse(guesser.body)).toMatchObject({ error: { code: 'too_many_attempts' } });
		// …the victim, from their own address, is not.
		const victim = await postFrom('127.0.0.3', url, { email: 'victim@login.test', password });
		expect(victim.status).toBe(200);
	});

	it('LOGIN-4: 400 concurrent logins answer 401 or 429, never 500, and honest edits see no append retries', async () => {
		const owner = await postFrom('127.0.0.4', `${http}/api/auth/login`, {
			email: 'owner@login.test',
			password
		});
		const { token } = JSON.parse(owner.body) as { token: string };
		const writer = new MaterialWriter(ws, `materials:${crypto.randomUUID()}`, token, ownerId, 'honest');
		try {
			await synced(writer.provider);
			const random = seededRandom(seed);
			const storm = Array.from({ length: 400 }, (_, i) =>
				postFrom(`127.0.1.${1 + (i % 200)}`, `${http}/api/auth/login`, {
					email: `nobody-${Math.floor(random() * 1e9)}@login.test`,
					password: 'not the password'
				})
			);
			// Honest edits all through the storm.
			let editing = true;
			const edits = (async () => {
				while (editing) {
					writer.edit();
					// Pacing: one edit every 5 ms, like a person typing fast.
					await new Promise((resolve) => setTimeout(resolve, 5));
				}
			})();
			const answers = await Promise.all(storm);
			editing = false;
			await edits;
			await writer.allDurable();

			const byStatus = new Map<number, number>();
			for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
			console.log(
				`400 concurrent logins: ${JSON.stringify(Object.fromEntries(byStatus))}; ${writer.edits.length} honest edits`
			);
			expect([...byStatus.keys()].every((s) => s === 401 || s === 429)).toBe(true);
			for (const a of answers.filter((x) => x.status === 429)) {
				expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
			}
			expect(writer.edits.length).toBeGreaterThan(0);
			expect(logs.filter((l) => l.msg === 'append failed, retrying' || (l.level ?? 0) >= 50)).toEqual([]);
		} finally {
			writer.destroy();
		}
	});
});
