import type { SyncOperation } from './operation.ts';

/**
 * The spec's OperationBatcher, used on the way into push (server) and before sending (client).
 * Isomorphic: no Node imports.
 *
 * Rules (spec OperationBatcher, docs/product-spec.md "Operations and the offline queue"): updates to one entity are merged (later fields win,
 * timestamp is the latest); a delete drops the earlier creates and updates of its entity. Where the
 * spec's code would lose user data we go further (docs/product-spec.md "Principles": never lose user data):
 * - a dropped create/update's fields are folded into what survives (a create followed by a delete
 *   becomes a create that is born deleted — a tombstone can be restored; a dropped create would be gone),
 * - `optimize` keeps the newest operation per entity but merges the older ones into it instead of
 *   discarding them (the spec's version drops a create that an update follows, so the update then
 *   hits an entity the server never saw),
 * - merged operations keep the OLDEST base `version`: the merge has seen no more than its first part.
 * The spec's `batches.creates.delete(\`${key}:${id}\`)` used a key creates were never stored under;
 * here every map is keyed by `entity:entityId`.
 */
export interface BatchedOperation {
	/** The merged operation to apply. */
	op: SyncOperation;
	/** Ids of every operation folded into it (the op's own id first); all get its outcome. */
	sourceIds: string[];
}

export interface BatchedOperations {
	creates: Map<string, BatchedOperation>;
	updates: Map<string, BatchedOperation>;
	deletes: Map<string, BatchedOperation>;
}

export function entityKey(op: Pick<SyncOperation, 'entity' | 'entityId' | 'data'>): string {
	const id = op.entityId ?? (typeof op.data?.id === 'string' ? op.data.id : undefined);
	return `${op.entity}:${id ?? '?'}`;
}

function minVersion(a: number | undefined, b: number | undefined): number | undefined {
	if (a === undefined) return b;
	if (b === undefined) return a;
	return Math.min(a, b);
}

/** Folds `later` into `earlier` (same entity); the result's type follows the rules above. */
export function mergeOperations(earlier: BatchedOperation, later: BatchedOperation): BatchedOperation {
	const a = earlier.op;
	const b = later.op;
	const type: SyncOperation['type'] = a.type === 'create' ? 'create' : b.type;
	const data = { ...(a.data ?? {}), ...(b.data ?? {}) };
	if (b.type === 'delete') data.deleted = true;
	const op: SyncOperation = {
		...b,
		type: a.type === 'create' ? 'create' : b.type,
		timestamp: Math.max(a.timestamp, b.timestamp),
		data,
		version: minVersion(a.version, b.version)
	};
	if (type === 'delete' && Object.keys(data).every((k) => k === 'deleted' || k === 'id')) delete op.data;
	return { op, sourceIds: [...later.sourceIds, ...earlier.sourceIds] };
}

export class OperationBatcher {
	/** Groups operations per the spec; keys are `entity:entityId`. */
	batch(operations: readonly SyncOperation[]): BatchedOperations {
		const batches: BatchedOperations = { creates: new Map(), updates: new Map(), deletes: new Map() };
		for (const op of operations) {
			const key = entityKey(op);
			const unit: BatchedOperation = { op, sourceIds: [op.id] };
			if (op.type === 'create') {
				const existing = batches.creates.get(key);
				batches.creates.set(key, existing ? mergeOperations(existing, unit) : unit);
			} else if (op.type === 'update') {
				const create = batches.creates.get(key);
				if (create) {
					batches.creates.set(key, mergeOperations(create, unit));
					continue;
				}
				const existing = batches.updates.get(key);
				batches.updates.set(key, existing ? mergeOperations(existing, unit) : unit);
			} else {
				let merged = unit;
				const update = batches.updates.get(key);
				if (update) merged = mergeOperations(update, merged);
				batches.updates.delete(key);
				const create = batches.creates.get(key);
				if (create) {
					batches.creates.set(key, mergeOperations(create, merged));
					continue;
				}
				const existing = batches.deletes.get(key);
				batches.deletes.set(key, existing ? mergeOperations(existing, merged) : merged);
			}
		}
		return batches;
	}

	/**
	 * One operation per entity, in the order of each entity's first operation (so a job's create still
	 * precedes anything that refers to it).
	 */
	coalesce(operations: readonly SyncOperation[]): BatchedOperation[] {
		const order = new Map<string, number>();
		operations.forEach((op, i) => {
			if (!order.has(entityKey(op))) order.set(entityKey(op), i);
		});
		const { creates, updates, deletes } = this.batch(operations);
		return [...creates, ...updates, ...deletes]
			.sort(([a], [b]) => (order.get(a) ?? 0) - (order.get(b) ?? 0))
			.map(([, unit]) => unit);
	}

	/** The spec's `optimize`: one operation per entity, the newest, with the older ones merged in. */
	optimize(operations: readonly SyncOperation[]): SyncOperation[] {
		return this.coalesce(operations).map((unit) => unit.op);
	}
}
