import { CrdtError, isUuid } from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { Logger } from '../logger.ts';
import { SyncError } from './errors.ts';
import type { SyncOperation } from './operation.ts';
import type { ProcessedOperation } from './push.ts';
import { SyncOperationSchema } from './schemas.ts';

/** An operation that passed validation, at its place in the request. */
export interface ValidOperation {
	index: number;
	/** `entityId` is set (from `data.id` on a create that gave none). */
	op: SyncOperation & { entityId: string };
}

/**
 * Validates each operation of a push on its own (docs/rest-api.md "Push"): one bad operation rejects
 * only itself. Rejections go into `processed` at their index; the rest are returned.
 */
export function validateOperations(
	user: AuthUser,
	operations: readonly unknown[],
	processed: Array<ProcessedOperation | undefined>
): ValidOperation[] {
	const valid: ValidOperation[] = [];
	for (const [index, raw] of operations.entries()) {
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
	return valid;
}

/** The error an operation is rejected with, from what its apply threw. */
export function rejection(error: unknown, logger: Logger): ProcessedOperation['error'] {
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
