import type { ServerResponse } from 'node:http';
import { type ErrorBody, errorBody, type HttpErrorCode } from './errors.ts';

const baseHeaders = {
	// API answers are per-user and change constantly; no proxy or browser may cache them.
	'cache-control': 'no-store',
	'x-content-type-options': 'nosniff'
};

/** Sends `body` as JSON unless a response was already started. */
export function sendJson(
	res: ServerResponse,
	status: number,
	body: unknown,
	headers: Record<string, string> = {}
): void {
	if (res.headersSent) return;
	sendText(res, status, JSON.stringify(body), 'application/json; charset=utf-8', headers);
}

/** Sends `text` (or bytes already encoded) with the API's headers unless a response was already started. */
export function sendText(
	res: ServerResponse,
	status: number,
	text: string | Buffer,
	contentType = 'text/plain; charset=utf-8',
	headers: Record<string, string> = {}
): void {
	if (res.headersSent) return;
	res.writeHead(status, {
		...baseHeaders,
		'content-type': contentType,
		'content-length': Buffer.byteLength(text),
		...headers
	});
	res.end(text);
}

export function sendError(
	res: ServerResponse,
	status: number,
	code: HttpErrorCode,
	message: string,
	field?: string,
	headers: Record<string, string> = {}
): void {
	const body: ErrorBody = errorBody(code, message, field);
	sendJson(res, status, body, headers);
}
