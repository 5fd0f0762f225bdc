/**
 * An error an HTTP route throws to answer with `{error:{code,message,field?}}`.
 * `code` is stable and machine-readable; `message` is for humans; `field` names the bad input.
 */
export class HttpError extends Error {
	override readonly name = 'HttpError';
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly field?: string,
		/** Extra response headers (e.g. `WWW-Authenticate`, `Allow`). */
		readonly headers: Record<string, string> = {}
	) {
		super(message);
	}
}

/** The JSON body of an error response. */
export interface ErrorBody {
	error: { code: string; message: string; field?: string };
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
	return { error: field === undefined ? { code, message } : { code, message, field } };
}
