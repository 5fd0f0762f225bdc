import type { ServerResponse } from 'node:http';
import { parseDocName } from '../../crdt/index.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { AuthUser } from '../auth/roles.ts';
import { AuthError } from '../auth/tokens.ts';
import type { Db } from '../db/port.ts';
import { sendJsonCompressed } from '../http/compress.ts';
import { httpDefaults } from '../http/defaults.ts';
import type { Router } from '../http/router.ts';
import { unauthorized } from '../http/router.ts';
import type { SessionStreams } from '../http/session-streams.ts';
import type { Logger } from '../logger.ts';
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
	deps: {
		db: Db;
		authenticate: Authenticator;
		projection: ProjectionExtension;
		/** Where each event stream is registered by its user, so an ended session ends it (SES-5). */
		sessions: SessionStreams;
		logger?: Logger;
	}
): BoardStreams {
	const streams = new Set<ServerResponse>();

	router.get('/api/board', async (ctx) => {
		const user = await ctx.authenticate();
		await sendJsonCompressed(ctx.req, ctx.res, 200, await readBoard(deps.db, user));
		return undefined;
	});
	router.get('/api/users', async (ctx) => {
		await ctx.authenticate();
		return { json: await readUsers(deps.db) };
	});
	router.get('/api/customers', async (ctx) => {
		const user = await ctx.authenticate();
		await sendJsonCompressed(ctx.req, ctx.res, 200, await readCustomers(deps.db, user));
		return undefined;
	});

	router.get('/api/board/events', async (ctx) => {
		let user: AuthUser;
		try {
			user = await deps.authenticate(
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
		deps.sessions.add(res, user);
		const concerns = boardEventAudience(deps.db, user);
		const unsubscribe = deps.projection.onProjected((event) => {
			// No payload: which documents changed is not every viewer's business; the board re-fetch is.
			// And no event at all for what the viewer may not see: its timing alone tells (VIS-4).
			concerns(event.documentName)
				.then((yes) => {
					if (yes && !res.writableEnded) res.write('event: change\ndata: {}\n\n');
				})
				.catch((err: unknown) => deps.logger?.error({ err, userId: user.id }, 'board event check failed'));
		});
		const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), httpDefaults.sseHeartbeatMs);
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

/**
 * Whether a projected document concerns what `user` sees on the board (server rule VIS-4): owners
 * see everything; a worker the jobs they crew (asked after the change, so a crew change that adds
 * or removes them reaches them), those jobs' materials and customers, and never `job-owner:` (price).
 * One small query per event per worker stream: boards are few, and a cache would go stale with
 * every crew change.
 */
export function boardEventAudience(db: Db, user: AuthUser): (documentName: string) => Promise<boolean> {
	if (user.role === 'OWNER') return async () => true;
	const crewed = db
		.query<{ job_id: string }>('SELECT job_id::text AS job_id FROM job_assignments WHERE user_id = $1', [
			user.id
		])
		.then(({ rows }) => new Set(rows.map((r) => r.job_id)));
	return async (documentName) => {
		const ref = parseDocName(documentName);
		if (!ref || ref.kind === 'job-owner' || ref.kind === 'private-notes') return false;
		if (ref.kind === 'customer') {
			const { rows } = await db.query(
				`SELECT 1 FROM jobs j JOIN job_assignments a ON a.job_id = j.id
				 WHERE a.user_id = $1 AND j.customer_id = $2 LIMIT 1`,
				[user.id, ref.id]
			);
			return rows.length > 0;
		}
		const { rows } = await db.query('SELECT 1 FROM job_assignments WHERE user_id = $1 AND job_id = $2', [
			user.id,
			ref.id
		]);
		const onCrew = rows.length > 0;
		// A job they just left still concerns them once: the board must drop it.
		const known = await crewed;
		const wasOnCrew = known.has(ref.id);
		if (onCrew) known.add(ref.id);
		else known.delete(ref.id);
		return onCrew || (ref.kind === 'job' && wasOnCrew);
	};
}
