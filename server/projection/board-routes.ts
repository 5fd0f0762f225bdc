import type { ServerResponse } from 'node:http';
import type { Authenticator } from '../auth/authenticator.ts';
import { AuthError } from '../auth/tokens.ts';
import type { Db } from '../db/port.ts';
import type { Router } from '../http/router.ts';
import { unauthorized } from '../http/router.ts';
import { sendJsonCompressed } from '../sync/compress.ts';
import { syncDefaults } from '../sync/defaults.ts';
import { readBoard, readCustomers, readUsers } from './board.ts';
import type { ProjectionExtension } from './extension.ts';

/** Open board event streams, so shutdown can end them (an open stream would hold the HTTP server). */
export interface BoardStreams {
	closeAll(): void;
}

/**
 * `GET /api/board`, `GET /api/users`, `GET /api/customers` and the live `GET /api/board/events`
 * (Server-Sent Events: `event: change` after every projection that wrote rows, well within a second
 * of the edit; the app then re-fetches the board). EventSource cannot send headers: the token comes
 * in `?token=`.
 */
export function mountBoardRoutes(
	router: Router,
	deps: { db: Db; authenticate: Authenticator; projection: ProjectionExtension }
): BoardStreams {
	const streams = new Set<ServerResponse>();

	router.get('/api/board', async (ctx) => {
		const user = await ctx.authenticate();
		sendJsonCompressed(ctx.req, ctx.res, 200, await readBoard(deps.db, user));
		return undefined;
	});
	router.get('/api/users', async (ctx) => {
		await ctx.authenticate();
		return { json: await readUsers(deps.db) };
	});
	router.get('/api/customers', async (ctx) => {
		const user = await ctx.authenticate();
		sendJsonCompressed(ctx.req, ctx.res, 200, await readCustomers(deps.db, user));
		return undefined;
	});

	router.get('/api/board/events', async (ctx) => {
		try {
			await deps.authenticate(
				ctx.url.searchParams.get('token') ?? ctx.req.headers.authorization?.replace(/^Bearer /i, '')
			);
		} catch (error) {
			if (error instanceof AuthError) throw unauthorized(error);
			throw error;
		}
		const { res, req } = ctx;
		res.writeHead(200, {
			'content-type': 'text/event-stream; charset=utf-8',
			'cache-control': 'no-store',
			connection: 'keep-alive',
			'x-accel-buffering': 'no'
		});
		res.write('retry: 3000\n\n');
		streams.add(res);
		const unsubscribe = deps.projection.onProjected(() => {
			// No payload: which documents changed is not every viewer's business; the board re-fetch is.
			res.write('event: change\ndata: {}\n\n');
		});
		const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), syncDefaults.sseHeartbeatMs);
		heartbeat.unref();
		const stop = () => {
			clearInterval(heartbeat);
			unsubscribe();
			streams.delete(res);
		};
		req.on('close', stop);
		res.on('close', stop);
		return undefined;
	});

	return {
		closeAll() {
			for (const res of streams) res.end();
			streams.clear();
		}
	};
}
