import type { Hocuspocus } from '@hocuspocus/server';
import type * as Y from 'yjs';
import {
	CrdtError,
	docName,
	ENTITY_DEFS,
	type HybridClock,
	isUuid,
	OWNER_ONLY_FIELDS
} from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { CollabContext } from '../collab/hocuspocus.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';
import type { ProjectionExtension } from '../projection/extension.ts';
import {
	type ApplyOutcome,
	applyOperation,
	type BaseVersion,
	checkFields,
	type FieldConflictReport
} from './apply.ts';
import { type BatchedOperation, OperationBatcher } from './batcher.ts';
import { waitPullable } from './change-feed.ts';
import { SyncError } from './errors.ts';
import type { SyncOperation } from './operation.ts';
import type { PolicyTable } from './policy.ts';
import { SyncOperationSchema } from './schemas.ts';
import { encodeToken, START_POSITION } from './tokens.ts';
import { visibleData } from './visibility.ts';

export interface ProcessedOperation {
	operationId: string | null;
	status: 'applied' | 'merged' | 'duplicate' | 'rejected';
	entity: SyncOperation['entity'] | null;
	entityId: string | null;
	version: number | null;
	error?: { code: string; message: string; field?: string };
}

export interface PushResult {
	processed: ProcessedOperation[];
	conflicts: FieldConflictReport[];
	syncToken: string;
}

/** What push needs. `durability.flush` resolves once every update handed to persistence is committed. */
export interface PushDeps {
	db: Db;
	hocuspocus: Hocuspocus<CollabContext>;
	projection: ProjectionExtension;
	durability: { flush(): Promise<void> };
	clock: HybridClock;
	policy: PolicyTable;
	logger: Logger;
	/** Longest a push waits to become pullable (default `syncDefaults.visibleTimeoutMs`; tests: tiny). */
	visibleTimeoutMs?: number;
	/** Operations accepted in one push (default `syncDefaults.maxOperationsPerPush`). */
	maxOperationsPerPush?: number;
}

/** The class openDirectConnection returns (the package exports only its narrower interface type). */
type DirectConnectionOf = Awaited<ReturnType<Hocuspocus<CollabContext>['openDirectConnection']>>;

const TABLE = { customer: 'customers', job: 'jobs', material: 'materials' } as const;

/** Operation ids being processed right now: a concurrent resend of one is a duplicate, not a second apply. */
const inProcess = new Set<string>();

interface Unit {
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

function rejection(error: unknown, logger: Logger): ProcessedOperation['error'] {
	if (error instanceof SyncError)
		return { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) };
	if (error instanceof CrdtError) {
		return {
			code: 'invalid_field',
			message: error.message,
			...(error.field ? { field: `data.${error.field}` } : {})
		};
	}
	// A bug, not bad input: this operation is rejected and logged; the others proceed.
	logger.error({ err: error }, 'operation failed unexpectedly');
	return { code: 'internal', message: 'internal error applying this operation' };
}

/**
 * POST /api/sync/push (docs/rest-api.md "Push"): validate each operation on its own,
 * answer duplicates from `sync_operations`, batch (the spec's OperationBatcher), apply each batched
 * operation as a CRDT transaction through a Hocuspocus direct connection (websocket clients see it
 * live; persistence logs it), then wait until it is durable, projected and pullable before answering.
 */
export async function push(
	deps: PushDeps,
	user: AuthUser,
	envelope: { operations: unknown[]; lastSyncToken?: string | undefined; deviceId: string }
): Promise<PushResult> {
	const processed: Array<ProcessedOperation | undefined> = new Array(envelope.operations.length);
	const valid: Array<{ index: number; op: SyncOperation }> = [];
	for (const [index, raw] of envelope.operations.entries()) {
		const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : null;
		const parsed = SyncOperationSchema.safeParse(raw);
		if (!parsed.success) {
			const issue = parsed.error.issues[0];
			const field = issue?.path.join('.') || undefined;
			processed[index] = {
				operationId: id,
				status: 'rejected',
				entity: null,
				entityId: null,
				version: null,
				error: {
					code: field === 'id' ? 'missing_field' : 'invalid_operation',
					message: `${field ?? 'operation'}: ${issue?.message ?? 'invalid'}`,
					...(field ? { field } : {})
				}
			};
			continue;
		}
		const op = parsed.data as SyncOperation;
		const entityId = op.entityId ?? (typeof op.data?.id === 'string' ? op.data.id : undefined);
		const reject = (code: string, message: string, field?: string) => {
			processed[index] = {
				operationId: op.id,
				status: 'rejected',
				entity: op.entity,
				entityId: entityId ?? null,
				version: null,
				error: { code, message, ...(field ? { field } : {}) }
			};
		};
		if (op.userId !== undefined && op.userId !== user.id) {
			reject('wrong_user', 'userId is not the caller', 'userId');
			continue;
		}
		if (!entityId) {
			reject('missing_field', `${op.type} needs entityId`, 'entityId');
			continue;
		}
		if (!isUuid(entityId)) {
			reject('invalid_field', 'entityId must be a lower-case UUID', 'entityId');
			continue;
		}
		if (op.entityId && op.data?.id !== undefined && op.data.id !== op.entityId) {
			reject('invalid_field', 'data.id differs from entityId', 'data.id');
			continue;
		}
		valid.push({ index, op: { ...op, entityId } });
	}

	// Idempotency: known ids, repeated ids in this batch, ids another request is processing.
	const known = await knownOperations(
		deps.db,
		valid.map((v) => v.op.id)
	);
	const seenHere = new Set<string>();
	const fresh: Array<{ index: number; op: SyncOperation }> = [];
	for (const v of valid) {
		const record = known.get(v.op.id);
		if (record || seenHere.has(v.op.id) || inProcess.has(v.op.id)) {
			processed[v.index] = {
				operationId: v.op.id,
				status: 'duplicate',
				entity: (record?.entity as SyncOperation['entity']) ?? v.op.entity,
				entityId: record?.entity_id ?? v.op.entityId ?? null,
				version: record?.version ?? null
			};
			continue;
		}
		seenHere.add(v.op.id);
		fresh.push(v);
	}
	for (const v of fresh) inProcess.add(v.op.id);
	try {
		const indexOf = new Map(fresh.map((v) => [v.op.id, v.index]));
		const units: Unit[] = new OperationBatcher()
			.coalesce(fresh.map((v) => v.op))
			.map((batched) => ({ batched, entityId: batched.op.entityId as string, jobId: null }));
		const conflicts = await applyUnits(deps, user, envelope.deviceId, units);
		const finals = await finalRows(deps.db, units);
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
		for (const v of fresh) inProcess.delete(v.op.id);
	}
}

function hidePrice(user: AuthUser, conflict: FieldConflictReport): FieldConflictReport {
	if (user.role === 'OWNER' || conflict.entity !== 'job') return conflict;
	return { ...conflict, finalState: visibleData(user, 'job', conflict.finalState) };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function isExpected(expected: Record<string, unknown>, final: Record<string, unknown>): boolean {
	return Object.entries(expected).every(([field, value]) => same(value, final[field]));
}

async function applyUnits(
	deps: PushDeps,
	user: AuthUser,
	deviceId: string,
	units: Unit[]
): Promise<FieldConflictReport[]> {
	const conflicts: FieldConflictReport[] = [];
	const connections = new Map<string, DirectConnectionOf>();
	const assigned = user.role === 'OWNER' ? null : await assignedJobs(deps.db, user.id);
	const ctx = { writer: { userId: user.id, deviceId, role: user.role }, clock: deps.clock };
	try {
		// Every lookup in three round trips, not two per operation (bench:api).
		const facts = await prefetch(deps.db, units);
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
		if (connections.size === 0) return conflicts;
		// Persistence's onChange runs in a promise chain started by the update event; one macrotask
		// lets every chain reach it before flush() looks at what is in flight.
		await new Promise((resolve) => setImmediate(resolve));
		await deps.durability.flush();
		let maxTxid: bigint | null = null;
		// Every document of the push in one projection pass, one transaction (bench:api: ten
		// per-document transactions per batch of 100 operations).
		const results = await deps.projection.projectAllNow(
			[...connections].map(([documentName, connection]) => ({
				documentName,
				document: connection.document ?? undefined
			}))
		);
		for (const result of results) {
			if (result.txid !== null && (maxTxid === null || BigInt(result.txid) > maxTxid))
				maxTxid = BigInt(result.txid);
		}
		// Every transaction below the newest is below it too: one wait covers all documents.
		if (maxTxid !== null)
			await waitPullable(deps.db, maxTxid.toString(), { timeoutMs: deps.visibleTimeoutMs });
		return conflicts;
	} finally {
		// Not unloaded at once: a following push to the same documents finds them in memory.
		await Promise.allSettled(
			[...connections.values()].map((c) => c.disconnect({ unloadImmediately: false }))
		);
	}
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

interface Facts {
	materialJob: Map<string, string>;
	current: Map<string, number>;
	bases: Map<string, BaseVersion>;
}

async function prefetch(db: Db, units: Unit[]): Promise<Facts> {
	const facts: Facts = { materialJob: new Map(), current: new Map(), bases: new Map() };
	const ids = (entity: string) => units.filter((u) => u.batched.op.entity === entity).map((u) => u.entityId);
	for (const entity of ['customer', 'job', 'material'] as const) {
		const wanted = ids(entity);
		if (wanted.length === 0) continue;
		const { rows } = await db.query<{ id: string; version: number; job_id: string | null }>(
			`SELECT id::text AS id, version, ${entity === 'material' ? 'job_id::text' : 'NULL::text'} AS job_id
			 FROM ${TABLE[entity]} WHERE id = ANY($1::uuid[])`,
			[wanted]
		);
		for (const row of rows) {
			facts.current.set(`${entity}:${row.id}`, row.version);
			if (row.job_id) facts.materialJob.set(row.id, row.job_id);
		}
	}
	const based = units.filter((u) => u.batched.op.version !== undefined);
	if (based.length > 0) {
		const { rows } = await db.query<{
			entity_type: string;
			entity_id: string;
			version: number;
			data: Record<string, unknown>;
			state_vector: Uint8Array;
		}>(
			`SELECT DISTINCT ON (c.entity_type, c.entity_id, c.version)
			   c.entity_type, c.entity_id::text AS entity_id, c.version, c.data, c.state_vector
			 FROM change_log c
			 JOIN unnest($1::text[], $2::uuid[], $3::int[]) AS w(entity_type, entity_id, version)
			   ON c.entity_type = w.entity_type AND c.entity_id = w.entity_id AND c.version = w.version
			 WHERE c.operation IN ('INSERT', 'UPDATE')
			 ORDER BY c.entity_type, c.entity_id, c.version, c.seq DESC`,
			[
				based.map((u) => u.batched.op.entity),
				based.map((u) => u.entityId),
				based.map((u) => u.batched.op.version)
			]
		);
		for (const row of rows) {
			facts.bases.set(`${row.entity_type}:${row.entity_id}:${row.version}`, {
				version: row.version,
				data: row.data,
				stateVector: row.state_vector
			});
		}
	}
	return facts;
}

function documentOf(
	op: SyncOperation,
	entityId: string,
	facts: Facts
): { docName: string; jobId: string | null } {
	if (op.entity === 'customer') return { docName: `customer:${entityId}`, jobId: null };
	if (op.entity === 'job') return { docName: `job:${entityId}`, jobId: entityId };
	const hinted = op.data?.jobId;
	const jobId = facts.materialJob.get(entityId) ?? (typeof hinted === 'string' ? hinted : undefined);
	if (!jobId) {
		if (op.type === 'create')
			throw new SyncError('missing_field', 'a material create needs data.jobId', 'data.jobId');
		throw new SyncError('not_found', `no material ${entityId}`, 'entityId');
	}
	if (!isUuid(jobId))
		throw new SyncError('invalid_field', 'data.jobId must be a lower-case UUID', 'data.jobId');
	return { docName: `materials:${jobId}`, jobId };
}

async function assignedJobs(db: Db, userId: string): Promise<Set<string>> {
	const { rows } = await db.query<{ job_id: string }>(
		'SELECT job_id::text AS job_id FROM job_assignments WHERE user_id = $1',
		[userId]
	);
	return new Set(rows.map((r) => r.job_id));
}

function versions(
	op: SyncOperation,
	entityId: string,
	facts: Facts
): { currentVersion: number; base: BaseVersion | null } {
	const currentVersion = facts.current.get(`${op.entity}:${entityId}`) ?? 0;
	if (op.version === undefined) return { currentVersion, base: null };
	if (op.version > currentVersion) {
		throw new SyncError(
			'invalid_field',
			`version ${op.version} is newer than the server's ${currentVersion}`,
			'version'
		);
	}
	return { currentVersion, base: facts.bases.get(`${op.entity}:${entityId}:${op.version}`) ?? null };
}

async function finalRows(
	db: Db,
	units: Unit[]
): Promise<Map<string, { data: Record<string, unknown>; version: number }>> {
	const found = new Map<string, { data: Record<string, unknown>; version: number }>();
	for (const entity of ['customer', 'job', 'material'] as const) {
		const ids = units.filter((u) => u.batched.op.entity === entity && !u.error).map((u) => u.entityId);
		if (ids.length === 0) continue;
		const { rows } = await db.query<{ id: string; data: Record<string, unknown>; version: number }>(
			`SELECT id::text AS id, data, version FROM ${TABLE[entity]} WHERE id = ANY($1::uuid[])`,
			[ids]
		);
		for (const row of rows) found.set(`${entity}:${row.id}`, { data: row.data, version: row.version });
	}
	return found;
}

async function knownOperations(
	db: Db,
	ids: string[]
): Promise<Map<string, { entity: string | null; entity_id: string | null; version: number | null }>> {
	if (ids.length === 0) return new Map();
	const { rows } = await db.query<{
		id: string;
		entity: string | null;
		entity_id: string | null;
		version: number | null;
	}>('SELECT id, entity, entity_id, version FROM sync_operations WHERE id = ANY($1::text[])', [ids]);
	return new Map(rows.map((r) => [r.id, r]));
}

/** Applied and merged operations are remembered; rejected ones are not (a fixed resend may apply). */
async function recordOperations(
	db: Db,
	user: AuthUser,
	deviceId: string,
	processed: Array<ProcessedOperation | undefined>
): Promise<void> {
	const done = processed.filter(
		(p): p is ProcessedOperation & { operationId: string } =>
			!!p && p.operationId !== null && (p.status === 'applied' || p.status === 'merged')
	);
	if (done.length === 0) return;
	await db.query(
		`INSERT INTO sync_operations (id, user_id, device_id, status, entity, entity_id, version)
		 SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[])
		 ON CONFLICT (id) DO NOTHING`,
		[
			done.map((p) => p.operationId),
			done.map(() => user.id),
			done.map(() => deviceId),
			done.map((p) => p.status),
			done.map((p) => p.entity),
			done.map((p) => p.entityId),
			done.map((p) => p.version)
		]
	);
}
