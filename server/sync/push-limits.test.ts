import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/port.ts';
import { PullResponseSchema } from './schemas.ts';
import { op, type SyncTestServer, startSyncServer, uuid } from './test-support.ts';

/** A transaction with a txid, held open on its own connection until `commit()`: it holds the feed's horizon back. */
function holdHorizon(db: Db) {
	// Takes a txid now, below every later push's.
	return holdTransaction(db, 'SELECT pg_current_xact_id()');
}

/** A transaction that ran `sql` and stays open on its own connection until the returned `commit()`. */
async function holdTransaction(db: Db, sql: string) {
	let release!: () => void;
	const gate = new Promise<void>((resolve) => {
		release = resolve;
	});
	let started!: () => void;
	const running = new Promise<void>((resolve) => {
		started = resolve;
	});
	const done = db.transaction(async (tx) => {
		await tx.query(sql);
		started();
		await gate;
	});
	await running;
	return async () => {
		release();
		await done;
	};
}

/**
 * Pushes `operation` while something holds the server back (`release` ends it once the answer is
 * in): the answer is 503 `code` with Retry-After; resending the same operation then answers 200 and
 * the change is pulled exactly once.
 */
async function expectRetryThenOnce(
	server: SyncTestServer,
	token: string,
	operation: ReturnType<typeof op>,
	release: () => Promise<void>,
	code: string
): Promise<void> {
	const push = () => server.call(token, 'POST', '/api/sync/push', { operations: [operation], deviceId: 'd' });
	const held = await push().finally(release);
	expect(held.status, JSON.stringify(held.body)).toBe(503);
	expect(held.body.error.code).toBe(code);
	expect(Number(held.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
	// Resending it (same operation id) is safe and now answers 200.
	const again = await push();
	expect(again.status, JSON.stringify(again.body)).toBe(200);
	const pulled = PullResponseSchema.parse((await server.call(token, 'GET', '/api/sync/pull')).body);
	expect(pulled.changes.filter((c) => c.entityId === operation.entityId)).toHaveLength(1);
}

// The push route's documented limits (server/sync/defaults.ts, OpenAPI), through the real route.
describe('push limits (pg, real route)', () => {
	let server: SyncTestServer;
	let owner: string;

	beforeAll(async () => {
		// A tiny pullable wait, so an older open transaction makes the push time out at once.
		server = await startSyncServer('pg', { settings: { visibleTimeoutMs: 30, maxOperationsPerPush: 3 } });
		await server.addUser('owner@limits.test', 'OWNER');
		owner = await server.login('owner@limits.test');
	});
	afterAll(() => server?.close());

	it('a push that does not become pullable in time answers 503 not_pullable with Retry-After, and its resend succeeds', async () => {
		const customer = op({ type: 'create', entity: 'customer', entityId: uuid(), data: { name: 'Slow Co' } });
		await expectRetryThenOnce(server, owner, customer, await holdHorizon(server.db), 'not_pullable');
	});

	it('maxOperationsPerPush is read: one operation over it is 400 too_many_operations', async () => {
		const ops = Array.from({ length: 4 }, () =>
			op({ type: 'create', entity: 'customer', entityId: uuid(), data: { name: 'Many Co' } })
		);
		const over = await server.call(owner, 'POST', '/api/sync/push', { operations: ops, deviceId: 'd' });
		expect(over.status).toBe(400);
		expect(over.body.error).toMatchObject({ code: 'too_many_operations', field: 'operations' });
		const atLimit = await server.call(owner, 'POST', '/api/sync/push', {
			operations: ops.slice(0, 3),
			deviceId: 'd'
		});
		expect(atLimit.status, JSON.stringify(atLimit.body)).toBe(200);
	});
});

describe('push durability wait (pg, real route)', () => {
	let server: SyncTestServer;
	let owner: string;

	beforeAll(async () => {
		server = await startSyncServer('pg', { settings: { durableTimeoutMs: 300 } });
		await server.addUser('owner@durable.test', 'OWNER');
		owner = await server.login('owner@durable.test');
	});
	afterAll(() => server?.close());

	it('a push that cannot be stored in time answers 503 database_unavailable (not silence), and its resend succeeds', async () => {
		const customer = op({
			type: 'create',
			entity: 'customer',
			entityId: uuid(),
			data: { name: 'Stalled Co' }
		});
		// The update log takes no new row while this lock is held (reads still work): a stalled write path.
		const release = await holdTransaction(server.db, 'LOCK TABLE doc_updates IN SHARE MODE');
		await expectRetryThenOnce(server, owner, customer, release, 'database_unavailable');
	});
});
