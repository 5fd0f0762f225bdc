import type { Hocuspocus } from '@hocuspocus/server';
import type { EntityName, HybridClock } from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { CollabContext } from '../collab/hocuspocus.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';
import type { ProjectionExtension } from '../projection/extension.ts';
import type { FieldConflictReport } from './apply.ts';
import { OperationBatcher } from './batcher.ts';
import { claimFresh, type OperationsInProcess, recordOperations } from './idempotency.ts';
import type { PolicyTable } from './policy.ts';
import { applyUnits, type Unit } from './push-apply.ts';
import { finalRows, prefetch } from './push-facts.ts';
import { validateOperations } from './push-validate.ts';
import { sameJson } from './same-json.ts';
import { encodeToken, START_POSITION } from './tokens.ts';
import { visibleData } from './visibility.ts';

export interface ProcessedOperation {
	operationId: string | null;
	status: 'applied' | 'merged' | 'duplicate' | 'rejected';
	entity: EntityName | null;
	entityId: string | null;
	version: number | null;
	error?: { code: string; message: string; field?: string };
}

export interface PushResult {
	processed: ProcessedOperation[];
	conflicts: FieldConflictReport[];
	syncToken: string;
}

/** What push needs. One per sync API instance (`createSyncApi`): nothing here is process-global. */
export interface PushDeps {
	db: Db;
	hocuspocus: Hocuspocus<CollabContext>;
	projection: ProjectionExtension;
	/** Persistence: `whenDurable` resolves once a document's durable state covers a state vector. */
	durability: {
		whenDurable(documentName: string, stateVector: ReadonlyMap<number, number>): Promise<void>;
	};
	clock: HybridClock;
	policy: PolicyTable;
	logger: Logger;
	/** Operation ids this API's pushes are processing (idempotency against concurrent resends). */
	inProcess: OperationsInProcess;
	/** Longest a push waits to become pullable (default `syncDefaults.visibleTimeoutMs`; tests: tiny). */
	visibleTimeoutMs?: number;
	/** Longest a push waits for durability (default `syncDefaults.durableTimeoutMs`; tests: tiny). */
	durableTimeoutMs?: number;
	/** Operations accepted in one push (default `syncDefaults.maxOperationsPerPush`). */
	maxOperationsPerPush?: number;
}

/**
 * POST /api/sync/push (docs/rest-api.md "Push"): validate each operation on its own
 * (push-validate.ts), answer duplicates from `sync_operations` (idempotency.ts), batch (the spec's
 * OperationBatcher), apply each batched operation as a CRDT transaction and wait until it is
 * durable, projected and pullable (push-apply.ts), then answer with each operation's status.
 */
export async function push(
	deps: PushDeps,
	user: AuthUser,
	envelope: { operations: unknown[]; lastSyncToken?: string | undefined; deviceId: string }
): Promise<PushResult> {
	const processed: Array<ProcessedOperation | undefined> = new Array(envelope.operations.length);
	const valid = validateOperations(user, envelope.operations, processed);
	// The facts of every valid operation, read alongside the idempotency lookup rather than after it
	// (one round trip less, bench:api); a duplicate's are read for nothing, which costs no write.
	const facts =
		valid.length > 0
			? prefetch(
					deps.db,
					valid.map((v) => ({ op: v.op, entityId: v.op.entityId }))
				)
			: undefined;
	facts?.catch(() => {}); // awaited by applyUnits; unheard if claimFresh fails first
	const { fresh, release } = await claimFresh(deps.db, deps.inProcess, valid, processed);
	try {
		const indexOf = new Map(fresh.map((v) => [v.op.id, v.index]));
		const units: Unit[] = new OperationBatcher()
			.coalesce(fresh.map((v) => v.op))
			.map((batched) => ({ batched, entityId: batched.op.entityId as string, jobId: null }));
		const { conflicts, pullableTxid } = await applyUnits(deps, user, envelope.deviceId, units, facts);
		const finals = await finalRows(
			deps.db,
			units.map((u) => ({ op: u.batched.op, entityId: u.entityId, failed: Boolean(u.error) })),
			{ txid: pullableTxid, timeoutMs: deps.visibleTimeoutMs }
		);
		for (const unit of units) {
			const op = unit.batched.op;
			const final = finals.get(`${op.entity}:${unit.entityId}`);
			unit.error ??= unit.ownerPart?.error;
			const expected = { ...unit.outcome?.expected, ...unit.ownerPart?.outcome?.expected };
			const status: ProcessedOperation['status'] = unit.error
				? 'rejected'
				: isExpected(expected, final?.data ?? {})
					? 'applied'
					: 'merged';
			for (const id of unit.batched.sourceIds) {
				processed[indexOf.get(id) as number] = {
					operationId: id,
					status,
					entity: op.entity,
					entityId: unit.entityId,
					version: unit.error ? null : (final?.version ?? null),
					...(unit.error ? { error: unit.error } : {})
				};
			}
		}
		for (const conflict of conflicts) {
			const final = finals.get(`${conflict.entity}:${conflict.entityId}`);
			if (final)
				conflict.finalState = visibleData(user, conflict.entity, { ...final.data, version: final.version });
		}
		await recordOperations(deps.db, user, envelope.deviceId, processed);
		const done = processed.filter((p): p is ProcessedOperation => p !== undefined);
		return {
			processed: done,
			conflicts: conflicts.map((c) => hidePrice(user, c)),
			syncToken: envelope.lastSyncToken ?? encodeToken(START_POSITION)
		};
	} finally {
		release();
	}
}

function hidePrice(user: AuthUser, conflict: FieldConflictReport): FieldConflictReport {
	if (user.role === 'OWNER' || conflict.entity !== 'job') return conflict;
	return { ...conflict, finalState: visibleData(user, 'job', conflict.finalState) };
}

/** An operation applied as sent when every field it wrote reads back as it wrote it; else it merged. */
function isExpected(expected: Record<string, unknown>, final: Record<string, unknown>): boolean {
	return Object.entries(expected).every(([field, value]) => sameJson(value, final[field]));
}
