import { HttpError } from '../http/errors.ts';

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
	/** A push committed, but its rows did not become pullable in time (503 + Retry-After: resend it). */
	| 'not_pullable'
	| 'internal';

/** An operation-level failure: rejects that operation only (docs/rest-api.md "Push"). */
export class SyncError extends Error {
	override readonly name = 'SyncError';
	constructor(
		readonly code: SyncErrorCode,
		message: string,
		readonly field?: string,
		/** For a temporary failure: how long the client should wait before retrying. */
		readonly retryAfterS?: number
	) {
		super(message);
	}
}

/** The status a request-level SyncError answers with; codes not listed are the client's fault (400). */
const syncErrorStatus: Partial<Record<SyncErrorCode, 500 | 503>> = {
	not_pullable: 503,
	internal: 500
};

/** A SyncError that escaped to a route, as the HTTP error it answers with (`Retry-After` on 503). */
export function syncHttpError(error: SyncError): HttpError {
	const status = syncErrorStatus[error.code] ?? 400;
	const headers: Record<string, string> =
		error.retryAfterS === undefined
			? {}
			: { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterS))) };
	return new HttpError(status, error.code, error.message, error.field, headers);
}
