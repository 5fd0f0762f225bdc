import type { AuthUser } from '../auth/roles.ts';
import type { Db } from '../db/port.ts';
import type { ProcessedOperation } from './push.ts';
import type { ValidOperation } from './push-validate.ts';

/**
 * Operation ids a push of this sync API is processing right now: a concurrent resend of one is a
 * duplicate, not a second apply. One per sync API instance (`createSyncApi`), never process-global:
 * two apps in one process (tests, a blue/green handover) must not see each other's pushes as theirs.
 */
export class OperationsInProcess {
	readonly #ids = new Set<string>();

	has(id: string): boolean {
		return this.#ids.has(id);
	}

	/** Marks `ids` as in process until the returned release is called. */
	claim(ids: readonly string[]): () => void {
		for (const id of ids) this.#ids.add(id);
		return () => {
			for (const id of ids) this.#ids.delete(id);
		};
	}
}

/**
 * Splits valid operations into fresh ones and duplicates — ids already recorded, repeated in this
 * batch, or in process in another request — and answers each duplicate in `processed` with what
 * its first apply recorded. The fresh ids are claimed in the same tick as the check (no await in
 * between, or a concurrent resend could pass it too); call `release` when the push is done.
 */
export async function claimFresh(
	db: Db,
	inProcess: OperationsInProcess,
	valid: readonly ValidOperation[],
	processed: Array<ProcessedOperation | undefined>
): Promise<{ fresh: ValidOperation[]; release: () => void }> {
	const known = await knownOperations(
		db,
		valid.map((v) => v.op.id)
	);
	const seenHere = new Set<string>();
	const fresh: ValidOperation[] = [];
	for (const v of valid) {
		const record = known.get(v.op.id);
		if (record || seenHere.has(v.op.id) || inProcess.has(v.op.id)) {
			processed[v.index] = {
				operationId: v.op.id,
				status: 'duplicate',
				entity: (record?.entity as ProcessedOperation['entity']) ?? v.op.entity,
				entityId: record?.entity_id ?? v.op.entityId ?? null,
				version: record?.version ?? null
			};
			continue;
		}
		seenHere.add(v.op.id);
		fresh.push(v);
	}
	return { fresh, release: inProcess.claim(fresh.map((v) => v.op.id)) };
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
export async function recordOperations(
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
