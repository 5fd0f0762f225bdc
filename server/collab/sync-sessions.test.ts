import { HocuspocusProvider } from '@hocuspocus/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HybridClock, MaterialListDoc } from '../../crdt/index.ts';
import { type AssembledServer, assembleServer } from '../assemble.ts';
import { createUser } from '../auth/users.ts';
import type { Db } from '../db/port.ts';
import { silentLogger } from '../logger.ts';
import { loginOver, openMigratedTestDb, testPassword, testUserOptions, waitFor } from '../testing/app.ts';
import { probeWrites } from '../testing/db-probe.ts';

/**
 * The app's websocket syncs reach the owner's sync health (docs/rest-api.md "Health"): a real server (production
 * wiring, 127.0.0.1, port 0) on real Postgres, real providers, and the owner's HTTP endpoints.
 */
const TIMEOUT_MS = 10_000;

interface Health {
	successRate: number;
	conflictRate: number;
	averageDuration: number;
	dataVolume: number;
}

interface MetricRow {
	kind: string;
	device_id: string | null;
	success: boolean;
	duration_ms: number | null;
	operations: number;
	conflicts: number;
	data_bytes: number;
	error: string | null;
}

describe('websocket syncs in the sync health report', () => {
	let db: Db;
	let drop: () => Promise<void>;
	let server: AssembledServer;
	let ws: string;
	let http: string;
	let ownerId: string;
	let ownerToken: string;
	let workerToken: string;
	const providers: HocuspocusProvider[] = [];
	/** Re-checks of waiting conditions, run whenever the sync tables were written. */
	const checks = new Set<() => void>();

	beforeAll(async () => {
		const opened = await openMigratedTestDb('pg');
		drop = opened.drop;
		// The server's database, telling the test when sync_metrics or sync_devices changed.
		db = probeWrites(opened.db, (sql) => {
			if (sql && /INSERT INTO sync_(metrics|devices)/.test(sql)) for (const check of checks) check();
		});
		const add = (email: string, role: 'OWNER' | 'WORKER') =>
			createUser(opened.db, { email, role, name: email, password: testPassword }, testUserOptions);
		ownerId = (await add('owner@sessions.test', 'OWNER')).id;
		await add('worker@sessions.test', 'WORKER');
		server = await assembleServer({
			db,
			logger: silentLogger(),
			authSecret: 'sessions-secret-sessions-secret-sessions',
			syncSessions: { flushDelayMs: 10, editsWindowMs: 100 }
		});
		const port = await server.app.listen(0);
		ws = `ws://127.0.0.1:${port}/collab`;
		http = `http://127.0.0.1:${port}`;
		ownerToken = await loginOver(http, 'owner@sessions.test', testPassword);
		workerToken = await loginOver(http, 'worker@sessions.test', testPassword);
	});

	afterAll(async () => {
		for (const provider of providers) provider.destroy();
		await server?.close();
		await drop?.();
	});

	async function get<T>(path: string): Promise<T> {
		const res = await fetch(`${http}${path}`, { headers: { authorization: `Bearer ${ownerToken}` } });
		expect(res.status).toBe(200);
		return (await res.json()) as T;
	}

	/** Resolves once `check` holds, re-checking after every write to the sync tables. */
	function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
		return waitFor<T>(
			what,
			(done) => {
				let settled = false;
				const attempt = () =>
					void check().then((value) => {
						if (value === undefined || settled) return;
						settled = true;
						checks.delete(attempt);
						done(value);
					});
				checks.add(attempt);
				attempt();
			},
			TIMEOUT_MS
		);
	}

	async function rowsOf(deviceId: string): Promise<MetricRow[]> {
		const { rows } = await db.query<MetricRow>(
			`SELECT kind, device_id, success, duration_ms, operations, conflicts, data_bytes, error
			 FROM sync_metrics WHERE device_id = $1 ORDER BY id`,
			[deviceId]
		);
		return rows;
	}

	function open(name: string, token: string, deviceId: string, document = new Y.Doc()): HocuspocusProvider {
		const provider = new HocuspocusProvider({
			url: `${ws}?deviceId=${encodeURIComponent(deviceId)}`,
			name,
			token,
			document
		});
		providers.push(provider);
		return provider;
	}

	function synced(provider: HocuspocusProvider): Promise<void> {
		return waitFor(
			`sync of ${provider.configuration.name}`,
			(done) => {
				if (provider.isSynced) return done();
				provider.on('synced', () => done());
			},
			TIMEOUT_MS
		);
	}

	it("a synced document connection is a successful sync, and lists the owner's device", async () => {
		const provider = open(`materials:${crypto.randomUUID()}`, ownerToken, 'owner-phone');
		await synced(provider);

		const devices = await until('the device in /api/sync/devices', async () => {
			const list =
				await get<Array<{ deviceId: string; userId: string; lastSync: number | null }>>('/api/sync/devices');
			return list.some((d) => d.deviceId === 'owner-phone') ? list : undefined;
		});
		expect(devices.find((d) => d.deviceId === 'owner-phone')).toMatchObject({ userId: ownerId });
		expect(devices.find((d) => d.deviceId === 'owner-phone')?.lastSync).toBeGreaterThan(Date.now() - 60_000);

		const health = await get<Health>('/api/sync/health');
		expect(health.successRate).toBe(1);
		expect(health.averageDuration).toBeGreaterThan(0);
		expect(health.dataVolume).toBeGreaterThan(0);
		const series = await get<Array<{ successRate: number | null }>>('/api/sync/health/series');
		expect(series.at(-1)?.successRate).toBe(1);

		const [row] = await rowsOf('owner-phone');
		expect(row).toMatchObject({ kind: 'ws_sync', success: true, error: null });
		expect(row?.duration_ms).toBeGreaterThan(0);
		expect(row?.data_bytes).toBeGreaterThan(0);
		// No REST continuation token for a websocket-only device.
		const status = await get<{ lastSync?: unknown }>('/api/sync/status?deviceId=owner-phone');
		expect(status.lastSync).toBeUndefined();
	});

	it('a refused connection is a failed sync', async () => {
		const provider = open(`job:${crypto.randomUUID()}`, workerToken, 'crew-phone');
		const reason = await waitFor<string>(
			'the refusal',
			(done) => provider.on('authenticationFailed', ({ reason }: { reason: string }) => done(reason)),
			TIMEOUT_MS
		);
		expect(reason).toBe('forbidden');

		const health = await until('a failure in /api/sync/health', async () => {
			const h = await get<Health>('/api/sync/health');
			return h.successRate < 1 ? h : undefined;
		});
		expect(health.successRate).toBeGreaterThan(0);
		const rows = await rowsOf('crew-phone');
		expect(rows).toEqual([
			expect.objectContaining({ kind: 'ws_sync', success: false, error: 'refused: forbidden' })
		]);
		// A failed sync does not make the device look synced.
		const devices = await get<Array<{ deviceId: string }>>('/api/sync/devices');
		expect(devices.map((d) => d.deviceId)).not.toContain('crew-phone');
	});

	it('a change the write guard undoes is a conflict, recorded while the connection stays open', async () => {
		const jobId = crypto.randomUUID();
		const doc = new Y.Doc();
		const provider = open(`materials:${jobId}`, ownerToken, 'owner-laptop', doc);
		await synced(provider);
		const list = new MaterialListDoc(doc, jobId, {
			writer: { userId: ownerId, deviceId: 'owner-laptop', role: 'OWNER' },
			clock: new HybridClock()
		});
		const material = list.add({ name: 'Shingles', quantity: 5 });
		const rejected = waitFor<string>(
			'the rejection',
			(done) => provider.on('stateless', ({ payload }: { payload: string }) => done(payload)),
			TIMEOUT_MS
		);
		// A stamp carrying a role other than the owner's current one (a stale client): undone (WRITE-7).
		material.map.set('name|stale', {
			t: Date.now(),
			c: 0,
			u: ownerId,
			d: 'owner-laptop',
			r: 'WORKER',
			v: 'Old shingles'
		});
		expect(JSON.parse(await rejected)).toMatchObject({ type: 'khs:rejected', field: 'name' });

		const edits = await until('the edits window with the conflict', async () => {
			const rows = (await rowsOf('owner-laptop')).filter((r) => r.kind === 'ws_edits');
			return rows.some((r) => r.conflicts > 0) ? rows : undefined;
		});
		expect(edits.reduce((sum, r) => sum + r.conflicts, 0)).toBe(1);
		expect(edits.reduce((sum, r) => sum + r.operations, 0)).toBeGreaterThanOrEqual(2);
		expect(edits.every((r) => r.success && r.duration_ms === null)).toBe(true);
		expect(provider.isSynced).toBe(true);

		const health = await get<Health>('/api/sync/health');
		expect(health.conflictRate).toBeGreaterThan(0);
		// Edit batches neither count as attempts nor dilute "time to synced".
		const { rows } = await db.query<{ n: number }>(
			"SELECT count(*)::int AS n FROM sync_metrics WHERE kind = 'ws_sync' AND device_id = 'owner-laptop'"
		);
		expect(rows[0]?.n).toBe(1);
	});
});
