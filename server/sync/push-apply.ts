import type { Hocuspocus } from '@hocuspocus/server';
import * as Y from 'yjs';
import { docName, ENTITY_DEFS, OWNER_ONLY_FIELDS } from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { CollabContext } from '../collab/hocuspocus.ts';
import { NotDurableError } from '../collab/persistence.ts';
import { DbError } from '../db/errors.ts';
import { type ApplyOutcome, applyOperation, checkFields, type FieldConflictReport } from './apply.ts';
import type { BatchedOperation } from './batcher.ts';
import { syncDefaults } from './defaults.ts';
import { SyncError } from './errors.ts';
import type { ProcessedOperation, PushDeps } from './push.ts';
import { assignedJobs, documentOf, type Facts, prefetch, versions } from './push-facts.ts';
import { rejection } from './push-validate.ts';

/** The class openDirectConnection returns (the package exports only its narrower interface type). */
type DirectConnectionOf = Awaited<ReturnType<Hocuspocus<CollabContext>['openDirectConnection']>>;

/** One batched operation on its way through the apply, and what became of it. */
export interface Unit {
	batched: BatchedOperation;
	entityId: string;
	docName?: string;
	jobId: string | null;
	outcome?: ApplyOutcome;
	error?: ProcessedOperation['error'];
	/** A job operation's owner-only fields, applied to its `job-owner:` document (SPEC AUD-2). */
	ownerPart?: Unit & { part: 'owner' };
	part?: 'owner';
}

/** What the apply leaves for the caller: the conflicts, and the transaction to wait on before answering. */
export interface Applied {
	conflicts: FieldConflictReport[];
	/**
	 * The newest transaction that wrote this push's documents' rows (null: none did): once it is
	 * below the feed's horizon, every row of the push is pullable (`finalRows` waits for it, in the
	 * same round trip as it reads the rows back).
	 */
	pullableTxid: string | null;
}

/**
 * Applies the units as CRDT transactions through Hocuspocus direct connections (websocket clients
 * see them live; persistence logs them), one transaction per document, then waits until they are
 * durable and projected. Sets each unit's `outcome` or `error`. `facts`: the prefetch, when the
 * caller started it already (push starts it alongside the idempotency lookup: one round trip less).
 */
export async function applyUnits(
	deps: PushDeps,
	user: AuthUser,
	deviceId: string,
	units: Unit[],
	prefetched?: Promise<Facts>
): Promise<Applied> {
	const conflicts: FieldConflictReport[] = [];
	const connections = new Map<string, DirectConnectionOf>();
	const ctx = { writer: { userId: user.id, deviceId, role: user.role }, clock: deps.clock };
	try {
		const [assigned, facts] = await Promise.all([
			user.role === 'OWNER' ? null : assignedJobs(deps.db, user.id),
			prefetched ??
				prefetch(
					deps.db,
					units.map((u) => ({ op: u.batched.op, entityId: u.entityId }))
				)
		]);
		const byDoc = new Map<string, Unit[]>();
		for (const unit of units) {
			const op = unit.batched.op;
			try {
				const { docName, jobId } = documentOf(op, unit.entityId, facts);
				unit.docName = docName;
				unit.jobId = jobId;
				if (assigned && (op.entity === 'customer' || !assigned.has(jobId ?? unit.entityId))) {
					throw new SyncError(
						'forbidden',
						`you are not assigned to this ${op.entity === 'customer' ? 'customer' : 'job'}`
					);
				}
				versions(op, unit.entityId, facts); // rejects a version from the future before any write
				if (user.role === 'OWNER') splitOwnerPart(unit);
				byDoc.set(docName, [...(byDoc.get(docName) ?? []), unit]);
			} catch (error) {
				unit.error = rejection(error, deps.logger);
			}
		}
		// Owner parts after every crew part: each applies only when its job's part did.
		for (const unit of units) {
			const part = unit.ownerPart;
			if (part?.docName) byDoc.set(part.docName, [...(byDoc.get(part.docName) ?? []), part]);
		}
		await Promise.all(
			[...byDoc.keys()].map(async (docName) => {
				connections.set(
					docName,
					await deps.hocuspocus.openDirectConnection(docName, { user, access: 'write' })
				);
			})
		);
		for (const [docName, docUnits] of byDoc) {
			// One Yjs transaction per document: one update to log, one projection. Each operation still
			// validates fully before its first write, so a rejected one leaves no trace in it.
			await connections.get(docName)?.transact((doc: Y.Doc) => {
				for (const unit of docUnits) {
					const op = unit.batched.op;
					if (unit.part === 'owner' && units.some((u) => u.ownerPart === unit && u.error)) continue;
					try {
						const { currentVersion, base } = versions(op, unit.entityId, facts);
						unit.outcome = applyOperation({
							doc,
							op,
							entityId: unit.entityId,
							jobId: unit.jobId,
							...(unit.part ? { part: unit.part } : {}),
							ctx,
							role: user.role,
							currentVersion,
							base,
							policy: deps.policy
						});
						conflicts.push(...unit.outcome.conflicts);
					} catch (error) {
						unit.error = rejection(error, deps.logger);
					}
				}
			});
		}
		if (connections.size === 0) return { conflicts, pullableTxid: null };
		// Every document of the push in one projection pass, one transaction (bench:api: ten
		// per-document transactions per batch of 100 operations) — started alongside the wait for the
		// update log, not after it: the projection reads the documents in memory, not the log, so
		// nothing orders the two, and a websocket edit's pass does not wait for its append either
		// (bench:api: the append's wait, ~4.5 ms, and the pass, ~5–7 ms, were back to back). The push
		// still answers only once both are done; a failed durability wait still answers 503.
		const projected = deps.projection.projectAllNow(
			[...connections].map(([documentName, connection]) => ({
				documentName,
				document: connection.document ?? undefined
			}))
		);
		projected.catch(() => {}); // awaited below; unheard if the durability wait fails first
		await Promise.all([...connections].map(([name, connection]) => untilDurable(deps, name, connection)));
		const results = await projected;
		let maxTxid: bigint | null = null;
		for (const result of results) {
			if (result.txid !== null && (maxTxid === null || BigInt(result.txid) > maxTxid))
				maxTxid = BigInt(result.txid);
		}
		// Every transaction below the newest is below it too: one wait covers all documents.
		return { conflicts, pullableTxid: maxTxid === null ? null : maxTxid.toString() };
	} finally {
		// Not unloaded at once: a following push to the same documents finds them in memory.
		await Promise.allSettled(
			[...connections.values()].map((c) => c.disconnect({ unloadImmediately: false }))
		);
	}
}

/**
 * Waits until what this push wrote to a document is committed: the server's own writes to it are
 * made with the document's clientID, so they are durable once the persistence's durable state
 * covers that client's clock as it is now (docs/architecture.md "Durability"). A condition, not a
 * guess at when Hocuspocus' onChange chain reaches persistence.
 */
async function untilDurable(
	deps: PushDeps,
	documentName: string,
	connection: DirectConnectionOf
): Promise<void> {
	const doc = connection.document;
	if (!doc) return;
	const clock = Y.getState(doc.store, doc.clientID);
	const timeoutMs = deps.durableTimeoutMs ?? syncDefaults.durableTimeoutMs;
	let timer: ReturnType<typeof setTimeout> | undefined;
	const late = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(notStored(`not stored within ${timeoutMs} ms`)), timeoutMs);
	});
	try {
		await Promise.race([deps.durability.whenDurable(documentName, new Map([[doc.clientID, clock]])), late]);
	} catch (error) {
		// The write stays in the document and is stored when the database is back; the client's resend
		// (same operation ids) answers from there. A 503 says exactly that; a 500 or no answer would not.
		if (error instanceof NotDurableError) throw notStored(error.message);
		throw error;
	} finally {
		clearTimeout(timer);
	}
}

function notStored(why: string): DbError {
	return new DbError('UNAVAILABLE', `the push was applied but is not stored yet (${why}); resend it`);
}

/**
 * Moves an owner's job operation's owner-only fields (price) into a unit of their own on the
 * `job-owner:` document, so the shared `job:` document never holds them (SPEC AUD-2). Validated here,
 * before any write, so an invalid price rejects the whole operation and changes nothing (VAL-1).
 * A worker's operation keeps them, and `applyOperation` refuses it whatever the value (VIS-3).
 */
function splitOwnerPart(unit: Unit): void {
	const op = unit.batched.op;
	if (op.entity !== 'job' || !op.data) return;
	const ownerData: Record<string, unknown> = {};
	const sharedData: Record<string, unknown> = { ...op.data };
	for (const field of OWNER_ONLY_FIELDS.job) {
		if (!Object.hasOwn(sharedData, field)) continue;
		ownerData[field] = sharedData[field];
		delete sharedData[field];
	}
	if (Object.keys(ownerData).length === 0) return;
	checkFields(ENTITY_DEFS.job, ownerData);
	unit.batched = { ...unit.batched, op: { ...op, data: sharedData } };
	unit.ownerPart = {
		batched: { ...unit.batched, op: { ...op, type: 'update', data: ownerData } },
		entityId: unit.entityId,
		docName: docName('job-owner', unit.entityId),
		jobId: unit.jobId,
		part: 'owner'
	};
}
