import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from '../auth/authenticator.ts';
import type { AuthUser } from '../auth/roles.ts';
import { AuthError, bearerToken } from '../auth/tokens.ts';
import { DbError } from '../db/errors.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import { readJsonBody } from './body.ts';
import { httpDefaults } from './defaults.ts';
import { HttpError, type HttpErrorCode } from './errors.ts';
import { sendError, sendJson, sendText } from './respond.ts';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a route handler gets for one request. */
export interface RouteContext {
	req: IncomingMessage;
	res: ServerResponse;
	url: URL;
	/** `:name` segments of the route pattern. */
	params: Record<string, string>;
	log: Logger;
	/** The remote address of the connection (what LOGIN-1/LOGIN-3 count per). */
	address: string;
	/** The caller from `Authorization: Bearer <token>`; throws a 401 `HttpError` otherwise. */
	authenticate(): Promise<AuthUser>;
	/** The parsed JSON body (size-limited, gzip/br accepted); throws 400/413/415 `HttpError`s. */
	json(): Promise<unknown>;
}

/** What a handler returns; `undefined` means it wrote the response itself. */
export type RouteResult =
	| { status?: number; json: unknown; headers?: Record<string, string> }
	| { status?: number; text: string; contentType?: string; headers?: Record<string, string> }
	| undefined;

export type RouteHandler = (ctx: RouteContext) => Promise<RouteResult> | RouteResult;

interface Route {
	method: Method;
	pattern: string;
	segments: string[];
	handler: RouteHandler;
}

export interface RouterOptions {
	authenticate: Authenticator;
	logger: Logger;
	maxBodyBytes?: number;
}

/** Turns an `AuthError` into the 401 every API route answers with. */
export function unauthorized(error: AuthError): HttpError {
	// About the user, not the token: `unknown_user`, `user_disabled`; the rest `token_<code>`.
	const code: HttpErrorCode =
		error.code === 'unknown_user'
			? 'unknown_user'
			: error.code === 'disabled'
				? 'user_disabled'
				: `token_${error.code}`;
	return new HttpError(401, code, error.message, undefined, { 'www-authenticate': 'Bearer' });
}

/**
 * The user behind a request's bearer token, or a 401 `HttpError`. Every `/api/*` route except
 * login calls this (through `ctx.authenticate()`).
 */
export async function authenticateRequest(
	req: IncomingMessage,
	authenticate: Authenticator
): Promise<AuthUser> {
	try {
		return await authenticate(bearerToken(req.headers.authorization));
	} catch (error) {
		if (error instanceof AuthError) throw unauthorized(error);
		throw error;
	}
}

/**
 * A deliberately tiny router: exact segments and `:param` segments, JSON in and out, errors as
 * `{error:{code,message,field?}}`. A framework would add a dependency and its own body parsing,
 * limits and error shapes to reconcile; the API has a handful of routes.
 */
export class Router {
	private readonly routes: Route[] = [];

	constructor(private readonly options: RouterOptions) {}

	add(method: Method, pattern: string, handler: RouteHandler): this {
		this.routes.push({ method, pattern, segments: split(pattern), handler });
		return this;
	}

	get(pattern: string, handler: RouteHandler): this {
		return this.add('GET', pattern, handler);
	}

	post(pattern: string, handler: RouteHandler): this {
		return this.add('POST', pattern, handler);
	}

	/** Answers the request when a route's path matches (405 for a wrong method); false otherwise. */
	async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
		const method = (req.method ?? 'GET').toUpperCase();
		const pathSegments = split(url.pathname);
		let pathMatched: Route[] = [];
		let match: { route: Route; params: Record<string, string> } | undefined;
		for (const route of this.routes) {
			const params = matchSegments(route.segments, pathSegments);
			if (!params) continue;
			pathMatched = [...pathMatched, route];
			if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
				match = { route, params };
				break;
			}
		}
		if (pathMatched.length === 0) return false;

		const started = performance.now();
		const routeLabel = pathMatched[0]?.pattern ?? 'unknown';
		const log = this.options.logger.child({ method, route: routeLabel });
		try {
			if (!match) {
				const allow = [...new Set(pathMatched.map((r) => r.method))].join(', ');
				throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here`, undefined, { allow });
			}
			const ctx: RouteContext = {
				req,
				res,
				url,
				params: match.params,
				log,
				address: req.socket.remoteAddress ?? '',
				authenticate: () => authenticateRequest(req, this.options.authenticate),
				json: () => readJsonBody(req, this.options.maxBodyBytes ?? httpDefaults.maxBodyBytes)
			};
			const result = await match.route.handler(ctx);
			if (result !== undefined) {
				const status = result.status ?? 200;
				if ('json' in result) sendJson(res, status, result.json, result.headers);
				else sendText(res, status, result.text, result.contentType, result.headers);
			}
		} catch (error) {
			this.sendFailure(req, res, error, log);
		} finally {
			metrics.httpRequests.inc({ method, route: routeLabel, status: String(res.statusCode) });
			log.debug({ status: res.statusCode, durationMs: performance.now() - started }, 'request');
		}
		return true;
	}

	private sendFailure(req: IncomingMessage, res: ServerResponse, error: unknown, log: Logger): void {
		// The body was not (fully) read (413, 415, 401 before reading…): answer now, keep the
		// connection, and discard the rest of the body as it arrives (HTTP-2 in docs/server-rules.md).
		// Closing instead — `Connection: close` or destroying the socket — resets a client that is still
		// sending before it reads our answer (EPIPE/ECONNRESET, no status). Bounded in bytes and time:
		// past either bound the socket is dropped.
		if (!req.complete) drainRejectedBody(req);
		if (error instanceof DbError && error.code === 'UNAVAILABLE') {
			// Temporary, and the client's retry is the remedy (a full disk until space returns): a 503
			// with a code and Retry-After, not a 500. The cause stays in the log, not in the answer.
			log.warn({ err: error }, 'request refused: database unavailable');
			sendError(res, 503, 'database_unavailable', 'the database is unavailable; retry shortly', undefined, {
				'retry-after': '1'
			});
			return;
		}
		if (!(error instanceof HttpError)) {
			log.error({ err: error }, 'request failed');
			sendError(res, 500, 'internal', 'internal server error');
			return;
		}
		if (error.status >= 500) log.error({ err: error }, 'request failed');
		sendError(res, error.status, error.code, error.message, error.field, error.headers);
	}
}

/** Reads and discards what is left of a rejected request's body, within `rejectedBodyDrain*`. */
function drainRejectedBody(req: IncomingMessage): void {
	let drained = 0;
	const drop = () => {
		cleanup();
		req.socket.destroy();
	};
	const onData = (chunk: Buffer) => {
		drained += chunk.byteLength;
		if (drained > httpDefaults.rejectedBodyDrainBytes) drop();
	};
	const timer = setTimeout(drop, httpDefaults.rejectedBodyDrainMs);
	timer.unref();
	const cleanup = () => {
		clearTimeout(timer);
		req.off('data', onData);
		req.off('end', cleanup);
		req.socket.off('close', cleanup);
	};
	req.on('data', onData);
	req.once('end', cleanup);
	req.socket.once('close', cleanup);
	req.resume();
}

function split(path: string): string[] {
	return path.split('/').filter((s) => s !== '');
}

function matchSegments(pattern: string[], path: string[]): Record<string, string> | null {
	if (pattern.length !== path.length) return null;
	const params: Record<string, string> = {};
	for (let i = 0; i < pattern.length; i++) {
		const p = pattern[i] as string;
		const s = path[i] as string;
		if (p.startsWith(':')) {
			try {
				params[p.slice(1)] = decodeURIComponent(s);
			} catch {
				return null;
			}
		} else if (p !== s) return null;
	}
	return params;
}
