import { describe, expect, it } from 'vitest';
import { OperationBatcher } from './batcher.ts';
import type { SyncOperation } from './operation.ts';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const o = (
	id: string,
	type: SyncOperation['type'],
	entityId: string,
	data?: Record<string, unknown>,
	extra: Partial<SyncOperation> = {}
): SyncOperation => ({
	id,
	type,
	entity: 'material',
	entityId,
	timestamp: Number(id.replace(/\D/g, '')) || 1,
	...(data ? { data } : {}),
	...extra
});
const batcher = new OperationBatcher();

describe('OperationBatcher (spec rules, never losing data)', () => {
	it('merges updates to one entity: later fields win, latest timestamp, oldest base version', () => {
		const [unit, ...rest] = batcher.coalesce([
			o('u1', 'update', A, { quantity: 1, name: 'x' }, { version: 3 }),
			o('u2', 'update', A, { quantity: 2 }, { version: 5 })
		]);
		expect(rest).toEqual([]);
		expect(unit?.op).toMatchObject({
			type: 'update',
			data: { quantity: 2, name: 'x' },
			timestamp: 2,
			version: 3
		});
		expect(unit?.sourceIds.sort()).toEqual(['u1', 'u2']);
	});

	it('a delete drops earlier updates of its entity (their fields kept on the tombstone)', () => {
		const units = batcher.coalesce([
			o('u1', 'update', A, { quantity: 4 }),
			o('d2', 'delete', A),
			o('u3', 'update', B, { quantity: 1 })
		]);
		expect(units.map((u) => [u.op.type, u.op.entityId])).toEqual([
			['delete', A],
			['update', B]
		]);
		expect(units[0]?.op.data).toEqual({ quantity: 4, deleted: true });
	});

	it('a delete after a create yields one create born deleted; create + update is one create', () => {
		const [deleted] = batcher.coalesce([o('c1', 'create', A, { name: 'n', jobId: B }), o('d2', 'delete', A)]);
		expect(deleted?.op).toMatchObject({ type: 'create', data: { name: 'n', jobId: B, deleted: true } });
		const [created] = batcher.coalesce([
			o('c1', 'create', A, { name: 'n' }),
			o('u2', 'update', A, { quantity: 3 })
		]);
		expect(created?.op).toMatchObject({ type: 'create', data: { name: 'n', quantity: 3 } });
	});

	it('optimize keeps one operation per entity in first-seen order (the spec would drop the create)', () => {
		const ops = batcher.optimize([
			o('c1', 'create', A, { name: 'a' }),
			o('c2', 'create', B, { name: 'b' }),
			o('u3', 'update', A, { name: 'a2' })
		]);
		expect(ops.map((op) => [op.type, op.entityId, op.data?.name])).toEqual([
			['create', A, 'a2'],
			['create', B, 'b']
		]);
	});

	it('batch groups as the spec does', () => {
		const b = batcher.batch([
			o('c1', 'create', A),
			o('u2', 'update', B, { quantity: 1 }),
			o('d3', 'delete', B)
		]);
		expect([...b.creates.keys()]).toEqual([`material:${A}`]);
		expect(b.updates.size).toBe(0);
		expect([...b.deletes.keys()]).toEqual([`material:${B}`]);
	});
});
