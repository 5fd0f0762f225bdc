import { HocuspocusProvider } from '@hocuspocus/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CustomerDoc, HybridClock, JobDoc, type WriteContext } from '../../crdt/index.ts';
import { waitFor } from '../testing/app.ts';
import { defaultPolicy, type PolicyTable, uniformPolicy } from './policy.ts';
import type { ResolutionStrategy } from './resolver.ts';
import { PullResponseSchema, PushResponseSchema } from './schemas.ts';
import { op, startSyncServer, uuid } from './test-support.ts';

/**
 * Each strategy end to end: base version v1, the server changes the field (v2), the client pushes
 * a different value based on v1. The policy table decides; the response carries ResolvedConflict.
 */
async function withServer(policy: PolicyTable) {
	const server = await startSyncServer('pg', { policy });
	const ownerUser = await server.addUser('o@x.test', 'OWNER');
	const workerUser = await server.addUser('w@x.test', 'WORKER');
	return {
		server,
		ownerId: ownerUser.id,
		workerId: workerUser.id,
		owner: await server.login('o@x.test'),
		worker: await server.login('w@x.test'),
		async push(token: string, operations: unknown[]) {
			const res = await server.call(token, 'POST', '/api/sync/push', { operations, deviceId: 'd' });
			expect(res.status, JSON.stringify(res.body)).toBe(200);
			return PushResponseSchema.parse(res.body);
		}
	};
}

type Env = Awaited<ReturnType<typeof withServer>>;

async function conflictOn(env: Env, field: 'name' | 'phone', clientTimestamp: number) {
	const id = uuid();
	const created = await env.push(env.owner, [
		op({ type: 'create', entity: 'customer', entityId: id, data: { name: 'base', phone: 'base' } })
	]);
	const v1 = created.processed[0]?.version as number;
	await env.push(env.owner, [
		op({ type: 'update', entity: 'customer', entityId: id, version: v1, data: { [field]: 'server' } })
	]);
	return {
		id,
		result: await env.push(env.owner, [
			op({
				type: 'update',
				entity: 'customer',
				entityId: id,
				version: v1,
				timestamp: clientTimestamp,
				data: { [field]: 'client' }
			})
		])
	};
}

describe.each<[ResolutionStrategy, number, string, string]>([
	['SERVER_WINS', Date.now() + 60_000, 'server', 'server_wins'],
	['CLIENT_WINS', 0, 'client', 'client_wins'],
	['LAST_WRITE_WINS', Date.now() + 60_000, 'client', 'client_wins'],
	['LAST_WRITE_WINS', 1, 'server', 'server_wins'],
	['ROLE_BASED', 1, 'server', 'server_wins'],
	['FIELD_MERGE', 1, 'client', 'field_merge'],
	['USER_CHOICE', 1, 'client', 'pending_user']
])('%s (client time %d) end to end', (strategy, clientTime, finalName, resolution) => {
	let env: Env;
	beforeAll(async () => {
		env = await withServer(uniformPolicy(strategy));
	});
	afterAll(() => env?.server.close());

	it(`resolves a three-way conflict on customer.name as ${resolution}, final "${finalName}"`, async () => {
		const { result } = await conflictOn(env, 'name', clientTime);
		expect(result.conflicts).toHaveLength(1);
		const [conflict] = result.conflicts;
		expect(conflict).toMatchObject({
			strategy,
			resolution,
			field: 'name',
			clientValue: 'client',
			serverValue: 'server',
			baseValue: 'base',
			finalState: { name: finalName }
		});
		expect(conflict?.detectedBy).toEqual(expect.arrayContaining(['version', 'field']));
		expect(result.processed[0]?.status).toBe(finalName === 'client' ? 'applied' : 'merged');
	});
});

describe('default policy end to end', () => {
	let env: Env;
	beforeAll(async () => {
		env = await withServer(defaultPolicy);
	});
	afterAll(() => env?.server.close());

	it('ROLE_BASED job title: a worker edit based on an old version loses to the owner', async () => {
		const jobId = uuid();
		const created = await env.push(env.owner, [
			op({
				type: 'create',
				entity: 'job',
				entityId: jobId,
				data: { title: 'base', assignedTo: [env.workerId] }
			})
		]);
		const v1 = created.processed[0]?.version as number;
		await env.push(env.owner, [
			op({ type: 'update', entity: 'job', entityId: jobId, version: v1, data: { title: 'owner' } })
		]);
		const stale = await env.push(env.worker, [
			op({
				type: 'update',
				entity: 'job',
				entityId: jobId,
				version: v1,
				data: { title: 'worker', status: 'in_progress' }
			})
		]);
		expect(stale.processed[0]?.status).toBe('merged');
		expect(stale.conflicts[0]).toMatchObject({
			field: 'title',
			resolution: 'server_wins',
			finalState: { title: 'owner', status: 'in_progress' }
		});
		expect(stale.conflicts[0]?.finalState).not.toHaveProperty('price');
		const forbidden = await env.push(env.worker, [
			op({ type: 'update', entity: 'job', entityId: jobId, data: { price: 5 } })
		]);
		expect(forbidden.processed[0]).toMatchObject({
			status: 'rejected',
			error: { code: 'forbidden', field: 'data.price' }
		});
	});

	it('USER_CHOICE customer phone keeps both values until a write that has seen both', async () => {
		const { id, result } = await conflictOn(env, 'phone', 1);
		expect(result.conflicts[0]).toMatchObject({
			strategy: 'USER_CHOICE',
			resolution: 'pending_user',
			clientAction: 'show_conflict_ui'
		});
		const reader: WriteContext = {
			writer: { userId: 'r', deviceId: 'r', role: 'OWNER' },
			clock: new HybridClock()
		};
		const conflictsNow = async () => {
			const conn = await env.server.app.hocuspocus.openDirectConnection(`customer:${id}`);
			const found = new CustomerDoc(conn.document as Y.Doc, id, reader).conflicts();
			await conn.disconnect({ unloadImmediately: false });
			return found;
		};
		expect((await conflictsNow()).map((c) => [c.field, [...c.values].sort(), c.needsChoice])).toEqual([
			['phone', ['client', 'server'], true]
		]);
		const res = await env.server.call(env.owner, 'GET', `/api/sync/pull?entities=customer`);
		const current = PullResponseSchema.parse(res.body).changes.find((c) => c.entityId === id);
		const chosen = await env.push(env.owner, [
			op({
				type: 'update',
				entity: 'customer',
				entityId: id,
				version: current?.version as number,
				data: { phone: 'server' }
			})
		]);
		expect(chosen.conflicts).toEqual([]);
		expect(await conflictsNow()).toEqual([]);
	});

	it('a REST push reaches a websocket client live, and a websocket edit reaches pull', async () => {
		const jobId = uuid();
		await env.push(env.owner, [
			op({
				type: 'create',
				entity: 'job',
				entityId: jobId,
				data: { title: 'live', assignedTo: [env.workerId] }
			})
		]);
		const doc = new Y.Doc();
		const provider = new HocuspocusProvider({
			url: env.server.ws,
			name: `job:${jobId}`,
			token: env.worker,
			document: doc
		});
		try {
			await waitFor('websocket sync', (done) =>
				provider.isSynced ? done() : provider.on('synced', () => done())
			);
			const ctx: WriteContext = {
				writer: { userId: env.workerId, deviceId: 'phone', role: 'WORKER' },
				clock: new HybridClock()
			};
			const view = new JobDoc(doc, jobId, ctx);
			expect(view.read()?.title).toBe('live');
			const arrived = waitFor('REST status on the websocket replica', (done) =>
				doc.on('update', () => view.read()?.status === 'on_hold' && done())
			);
			await env.push(env.owner, [
				op({ type: 'update', entity: 'job', entityId: jobId, data: { status: 'on_hold' } })
			]);
			await arrived;
			// The other way: a websocket edit is projected and pullable (within the projection lag).
			const projected = waitFor('projection of the websocket edit', (done) => {
				const off = env.server.api.projection.onProjected((e) => {
					if (e.documentName === `job:${jobId}`) {
						off();
						done();
					}
				});
			});
			view.entity.set({ title: 'from websocket' });
			await projected;
			const res = await env.server.call(env.worker, 'GET', '/api/sync/pull?entities=job');
			const job = PullResponseSchema.parse(res.body).changes.find((c) => c.entityId === jobId);
			expect(job?.data).toMatchObject({ title: 'from websocket', status: 'on_hold' });
			expect(job?.changedBy).toBe(env.workerId);
		} finally {
			provider.destroy();
		}
	});
});
