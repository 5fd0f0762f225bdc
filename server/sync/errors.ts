/** Reason codes of a rejected operation or request (stable, machine-readable; messages are for humans). */
export type SyncErrorCode =
	| 'invalid_token'
	| 'invalid_operation'
	| 'invalid_field'
	| 'missing_field'
	| 'unknown_entity'
	| 'unknown_field'
	| 'not_found'
	| 'forbidden'
	| 'wrong_user'
	| 'duplicate_entity'
	| 'internal';

/** An operation-level failure: rejects that operation only (DESIGN "Sync API details"). */
export class SyncError extends Error {
	override readonly name = 'SyncError';
	constructor(
		readonly code: SyncErrorCode,
		message: string,
		readonly field?: string
	) {
		super(message);
	}
}
