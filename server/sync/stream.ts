import type { Authenticator } from '../auth/authenticator.ts';
import type { AuthUser } from '../auth/roles.ts';
import { AuthError } from '../auth/tokens.ts';
import type { Db } from '../db/port.ts';
import { httpDefaults } from '../http/defaults.ts';
import { HttpError } from '../http/errors.ts';
import { type Router, unauthorized } from '../http/router.ts';
import type { SessionStreams } from '../http/session-streams.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import type { ProjectionExtension } from '../projection/extension.ts';
import { type PullPageJson, pullPageJson, ResyncRequiredError, waitPullable } from './change-feed.ts';
import { syncDefaults } from './defaults.ts';
import { SyncError } from './errors.ts';
import { decodeToken } from './tokens.ts';
import type { EntityName } from './visibility.ts';

/**
 * `GET /api/sync/stream?lastSyncToken=&entities=` — the change feed as Server-Sent Events (STREAM-1…4
 * in docs/server-rules.md). It is pull, driven by notifications: on open and after every
 * projection commit that became pullable, the stream pulls from its last token with the same reader
 * (`pullPageJson`: same visibility, same tokens, same retention horizon) and sends each non-empty page
 * as one event whose `id` is the page's syncToken. A reconnecting EventSource sends that id back as
 * `Last-Event-ID`, so a resumed stream continues exactly after the last event it received.
 *
 * Events: `changes` (data: {changes, deletions, syncToken}), `synced` once caught up after opening
 * (data: {syncToken}), `resync_required` (data: the 410 error body) before the server ends the stream.
 */
export interface SyncStreams {
	/** Ends every open stream (shutdown). */
	closeAll(): void;
}

export interface StreamDeps {
	db: Db;
	authenticate: Authenticator;
	projection: ProjectionExtension;
	logger: Logger;
	/** Where the stream is registered by its user, so an ended session ends it (SES-5). */
	sessions: SessionStreams;
	parseEntities(value: string | null): EntityName[] | undefined;
	/** Fallback wake-up (changes projected by another instance notify only there). */
	pollMs?: number;
}

interface OpenStream {
	wake(): void;
	end(): void;
}

/** One SSE event; `dataJson` must be one line (every JSON text here is). */
const frameJson = (event: string, dataJson: string, id?: string) =>
	`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${dataJson}\n\n`;
const frame = (event: string, data: unknown, id?: string) => frameJson(event, JSON.stringify(data), id);

export function mountSyncStream(router: Router, deps: StreamDeps): SyncStreams {
	const open = new Set<OpenStream>();
	const wakeAll = () => {
		for (const s of open) s.wake();
	};
	// One wait per projected transaction, shared by every stream: it is pullable once below the horizon.
	const waiting = new Set<string>();
	deps.projection.onProjected((event) => {
		const txid = event.txid;
		if (!txid || open.size === 0) return;
		if (waiting.has(txid)) return;
		waiting.add(txid);
		waitPullable(deps.db, txid)
			.catch((err: unknown) => deps.logger.warn({ err, txid }, 'stream: projected change not pullable yet'))
			.finally(() => {
				waiting.delete(txid);
				wakeAll();
			});
	});
	const poll = setInterval(wakeAll, deps.pollMs ?? syncDefaults.streamPollMs);
	poll.unref();

	router.get('/api/sync/stream', async (ctx) => {
		let user: AuthUser;
		try {
			user = await deps.authenticate(
				ctx.url.searchParams.get('token') ?? ctx.req.headers.authorization?.replace(/^Bearer /i, '')
			);
		} catch (error) {
			if (error instanceof AuthError) throw unauthorized(error);
			throw error;
		}
		const lastEventId = ctx.req.headers['last-event-id'];
		let token =
			(typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined) ??
			(ctx.url.searchParams.get('lastSyncToken') || undefined);
		const entities = deps.parseEntities(ctx.url.searchParams.get('entities'));
		const pull = async (): Promise<PullPageJson> => {
			try {
				return await pullPageJson(deps.db, user, {
					lastSyncToken: token,
					entities,
					limit: syncDefaults.streamPullLimit
				});
			} catch (error) {
				if (error instanceof SyncError) throw new HttpError(400, error.code, error.message, error.field);
				throw error;
			}
		};
		try {
			decodeToken(token);
		} catch (error) {
			if (error instanceof SyncError) throw new HttpError(400, error.code, error.message, error.field);
			throw error;
		}
		// The first page before any header: a token behind the horizon is a plain 410 JSON answer.
		const first = await pull();

		const { res, req } = ctx;
		res.writeHead(200, {
			'content-type': 'text/event-stream; charset=utf-8',
			'cache-control': 'no-store',
			connection: 'keep-alive',
			'x-accel-buffering': 'no'
		});
		res.write(`retry: ${syncDefaults.streamRetryMs}\n\n`);
		metrics.syncStreams.inc();
		deps.sessions.add(res, user);

		let closed = false;
		let running = false;
		let again = false;
		// The page's JSON text as the pull route has it, never parsed and serialized again.
		const send = (page: PullPageJson) => {
			token = page.syncToken;
			if (page.itemCount > 0)
				res.write(
					frameJson(
						'changes',
						`{${page.itemsJson},"syncToken":${JSON.stringify(page.syncToken)}}`,
						page.syncToken
					)
				);
		};
		const stream: OpenStream = {
			wake() {
				if (closed) return;
				if (running) {
					again = true;
					return;
				}
				running = true;
				void (async () => {
					try {
						do {
							again = false;
							for (;;) {
								const page = await pull();
								if (closed) return;
								send(page);
								if (!page.hasMore) break;
							}
						} while (again && !closed);
					} catch (error) {
						if (closed) return;
						if (error instanceof ResyncRequiredError) {
							res.write(frame('resync_required', { error: { code: error.code, message: error.message } }));
						} else {
							deps.logger.error({ err: error }, 'stream: pull failed');
						}
						stream.end();
					} finally {
						running = false;
					}
				})();
			},
			end() {
				if (closed) return;
				closed = true;
				open.delete(stream);
				clearInterval(heartbeat);
				metrics.syncStreams.dec();
				res.end();
			}
		};
		const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), httpDefaults.sseHeartbeatMs);
		heartbeat.unref();
		req.on('close', () => stream.end());
		res.on('close', () => stream.end());
		open.add(stream);

		// Catch up from the first page, say so, then follow notifications.
		send(first);
		running = true;
		try {
			let page = first;
			while (page.hasMore && !closed) {
				page = await pull();
				send(page);
			}
		} catch (error) {
			if (error instanceof ResyncRequiredError)
				res.write(frame('resync_required', { error: { code: error.code, message: error.message } }));
			else deps.logger.error({ err: error }, 'stream: pull failed');
			running = false;
			stream.end();
			return undefined;
		}
		running = false;
		if (!closed) res.write(frame('synced', { syncToken: token }, token));
		// Anything projected while catching up.
		stream.wake();
		return undefined;
	});

	return {
		closeAll() {
			clearInterval(poll);
			for (const s of [...open]) s.end();
		}
	};
}
