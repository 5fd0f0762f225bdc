import type { AuthErrorCode } from '../auth/tokens.ts';
import type { BackupError } from '../db/backup.ts';
import type { SyncErrorCode } from '../sync/errors.ts';

/**
 * Every `code` an error response can carry: stable and machine-readable, so clients switch on it.
 * One name per meaning: a request whose URL, query or body is not what the route takes is
 * `invalid_request` (400) whatever part was wrong; `field` says which. Subsystems' typed errors that
 * routes pass through keep their own codes (type-only imports: the codes, not the code).
 */
export type HttpErrorCode =
	// 400: the request itself
	| 'invalid_request'
	| 'invalid_field'
	| 'malformed_json'
	| 'bad_encoding'
	| 'aborted'
	| 'cannot_change_self'
	| 'too_many_operations'
	// 401 / 403: who is asking
	| 'unauthorized'
	| 'invalid_credentials'
	| 'unknown_user'
	| 'user_disabled'
	| `token_${AuthErrorCode}`
	| 'forbidden'
	// 404 / 405 / 410 / 413 / 415: what is asked for
	| 'not_found'
	| 'unknown_entity'
	| 'method_not_allowed'
	| 'resync_required'
	| 'body_too_large'
	| 'unsupported_encoding'
	// 409: conflicts with what exists
	| 'email_taken'
	// 429: slow down
	| 'too_many_attempts'
	| 'login_busy'
	// 500
	| 'internal'
	// 503: the database cannot serve now (DbError UNAVAILABLE, e.g. PGlite reopening after a full disk)
	| 'database_unavailable'
	// passed through from typed errors of other subsystems
	| SyncErrorCode
	| BackupError['code'];

/**
 * An error an HTTP route throws to answer with `{error:{code,message,field?}}`.
 * `code` is stable and machine-readable; `message` is for humans; `field` names the bad input.
 */
export class HttpError extends Error {
	override readonly name = 'HttpError';
	constructor(
		readonly status: number,
		readonly code: HttpErrorCode,
		message: string,
		readonly field?: string,
		/** Extra response headers (e.g. `WWW-Authenticate`, `Allow`, `Retry-After`). */
		readonly headers: Record<string, string> = {}
	) {
		super(message);
	}
}

/** The JSON body of an error response. */
export interface ErrorBody {
	error: { code: HttpErrorCode; message: string; field?: string };
}

export function errorBody(code: HttpErrorCode, message: string, field?: string): ErrorBody {
	return { error: field === undefined ? { code, message } : { code, message, field } };
}
