import { HocuspocusProvider } from '@hocuspocus/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HybridClock, JobDoc } from '../../crdt/index.ts';
import { type AssembledServer, assembleServer } from '../assemble.ts';
import { createUser } from '../auth/users.ts';
import type { Db } from '../db/port.ts';
import { silentLogger } from '../logger.ts';
import { loginOver, openMigratedTestDb, testPassword, testUserOptions, waitFor } from '../testing/app.ts';
import { probeWrites } from '../testing/db-probe.ts';
import { accessRevokedReason } from './revoke.ts';

/**
 * Crew removal revokes open connections: a real server (production wiring via assembleServer,
 * 127.0.0.1, port 0) on real Postgres, with real providers.
 */
describe('removing a worker from a crew closes their open connections', () => {
	let drop: () => Promise<void>;
	let server: AssembledServer;
	let ws: string;
	let db: Db;
	const ids: Record<'owner' | 'ana' | 'ben', string> = { owner: '', ana: '', ben: '' };
	const tokens: Record<'owner' | 'ana' | 'ben', string> = { owner: '', ana: '', ben: '' };
	const providers: HocuspocusProvider[] = [];
	/** Re-checks of waiting conditions, run after every committed transaction. */
	const checks = new Set<() => void>();

	beforeAll(async () => {
		const opened = await openMigratedTestDb('pg');
		drop = opened.drop;
		// The server's database, telling the test whenever it wrote (e.g. a projection committed).
		db = probeWrites(opened.db, () => {
			for (const check of checks) check();
		});
		const add = async (name: 'owner' | 'ana' | 'ben', role: 'OWNER' | 'WORKER') => {
			const user = await createUser(
				opened.db,
				{ email: `${name}@revoke.test`, role, name, password: testPassword },
				testUserOptions
			);
			ids[name] = user.id;
		};
		await add('owner', 'OWNER');
		await add('ana', 'WORKER');
		await add('ben', 'WORKER');
		server = await assembleServer({
			db,
			logger: silentLogger(),
			authSecret: 'revoke-secret-revoke-secret-revoke-secret'
		});
		const port = await server.app.listen(0);
		ws = `ws://127.0.0.1:${port}/collab`;
		const http = `http://127.0.0.1:${port}`;
		for (const name of ['owner', 'ana', 'ben'] as const) {
			tokens[name] = await loginOver(http, `${name}@revoke.test`, testPassword);
		}
	});

	afterAll(async () => {
		for (const provider of providers) provider.destroy();
		await server?.close();
		await drop?.();
	});

	/** Resolves once `check` holds, re-checking after every committed transaction. */
	function untilDb(what: string, check: () => Promise<boolean>): Promise<void> {
		return waitFor(what, (done) => {
			let settled = false;
			const attempt = () =>
				void check().then((ok) => {
					if (!ok || settled) return;
					settled = true;
					checks.delete(attempt);
					done();
				});
			checks.add(attempt);
			attempt();
		});
	}

	async function crew(jobId: string): Promise<string[]> {
		const { rows } = await db.query<{ user_id: string }>(
			'SELECT user_id::text AS user_id FROM job_assignments WHERE job_id = $1 ORDER BY user_id',
			[jobId]
		);
		return rows.map((r) => r.user_id);
	}

	interface Client {
		provider: HocuspocusProvider;
		/** Reasons of the document closes the server sent, in order. */
		closes: string[];
	}

	async function connect(name: string, who: 'owner' | 'ana' | 'ben'): Promise<Client> {
		const closes: string[] = [];
		const provider = new HocuspocusProvider({ url: ws, name, token: tokens[who], document: new Y.Doc() });
		providers.push(provider);
		provider.on('close', ({ event }: { event: { reason: string } }) => closes.push(event.reason));
		await waitFor(`${who} to sync ${name}`, (done) => {
			if (provider.isSynced) return done();
			provider.on('synced', () => done());
		});
		return { provider, closes };
	}

	const closed = (client: Client) =>
		waitFor<string>(`close of ${client.provider.configuration.name}`, (done) => {
			const [first] = client.closes;
			if (first !== undefined) return done(first);
			client.provider.on('close', ({ event }: { event: { reason: string } }) => done(event.reason));
		});

	const authFailure = (provider: HocuspocusProvider) =>
		waitFor<string>(`auth failure on ${provider.configuration.name}`, (done) =>
			provider.on('authenticationFailed', ({ reason }: { reason: string }) => done(reason))
		);

	/** What a client does after its connection closed: a new socket, authenticating again. */
	async function reconnect(provider: HocuspocusProvider): Promise<void> {
		const down = waitFor(`${provider.configuration.name} to disconnect`, (done) =>
			provider.on('disconnect', () => done())
		);
		provider.disconnect();
		await down;
		void provider.connect();
	}

	const fieldArrives = (doc: Y.Doc, read: () => unknown, expected: unknown) =>
		waitFor(`${String(expected)} to arrive`, (done) => {
			if (read() === expected) return done();
			const onUpdate = () => {
				if (read() !== expected) return;
				doc.off('update', onUpdate);
				done();
			};
			doc.on('update', onUpdate);
		});

	it('closes the removed worker’s job, materials and customer connections; others keep working', async () => {
		const jobId = crypto.randomUUID();
		const customerId = crypto.randomUUID();
		const owner = await connect(`job:${jobId}`, 'owner');
		const ownerJob = new JobDoc(owner.provider.document, jobId, {
			writer: { userId: ids.owner, deviceId: 'owner-dev', role: 'OWNER' },
			clock: new HybridClock()
		});
		ownerJob.create({ title: 'Roof', status: 'scheduled', customerId });
		ownerJob.entity.addMember(ids.ana);
		ownerJob.entity.addMember(ids.ben);
		await untilDb('both workers on the crew', async () => (await crew(jobId)).length === 2);

		const anaJob = await connect(`job:${jobId}`, 'ana');
		const anaMaterials = await connect(`materials:${jobId}`, 'ana');
		const anaCustomer = await connect(`customer:${customerId}`, 'ana');
		const benJob = await connect(`job:${jobId}`, 'ben');
		const benMaterials = await connect(`materials:${jobId}`, 'ben');

		ownerJob.entity.removeMember(ids.ana);

		expect(await closed(anaJob)).toBe(accessRevokedReason);
		expect(await closed(anaMaterials)).toBe(accessRevokedReason);
		expect(await closed(anaCustomer)).toBe(accessRevokedReason);
		expect(await crew(jobId)).toEqual([ids.ben]);

		// Reconnecting is refused by onAuthenticate.
		for (const client of [anaJob, anaMaterials]) {
			const refused = authFailure(client.provider);
			await reconnect(client.provider);
			expect(await refused).toBe('forbidden');
		}

		// Ben, still on the crew, stays connected: edits flow both ways on the same connection.
		const benView = new JobDoc(benJob.provider.document, jobId, {
			writer: { userId: ids.ben, deviceId: 'ben-dev', role: 'WORKER' },
			clock: new HybridClock()
		});
		ownerJob.entity.set({ title: 'Roof and gutters' });
		await fieldArrives(benJob.provider.document, () => benView.read()?.title, 'Roof and gutters');
		benView.entity.set({ status: 'in_progress' });
		await fieldArrives(owner.provider.document, () => ownerJob.read()?.status, 'in_progress');
		expect(benJob.closes).toEqual([]);
		expect(benMaterials.closes).toEqual([]);
		expect(owner.closes).toEqual([]);
		expect(benJob.provider.isAuthenticated).toBe(true);
		expect(benMaterials.provider.isAuthenticated).toBe(true);
	});
});
