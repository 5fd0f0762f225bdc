import { entityChecksum } from '../../wire/canonical.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { Db } from '../db/port.ts';
import { compressJson, sendCompressedJson, sendJsonCompressed } from '../http/compress.ts';
import { HttpError } from '../http/errors.ts';
import type { RouteContext, Router } from '../http/router.ts';
import type { Logger } from '../logger.ts';
import { devices, healthReport, healthSeries, lastSyncOf, recordSync } from './analytics.ts';
import { pullPageJson } from './change-feed.ts';
import { syncDefaults } from './defaults.ts';
import { SyncError, syncHttpError } from './errors.ts';
import { openApiDocument } from './openapi.ts';
import { type PushDeps, push } from './push.ts';
import { PullQuerySchema, PushEnvelopeSchema } from './schemas.ts';
import { decodeToken } from './tokens.ts';
import { type EntityName, visibleData, visibleRowsSql } from './visibility.ts';

const ENTITY_ALIASES: Readonly<Record<string, EntityName>> = {
	customer: 'customer',
	customers: 'customer',
	job: 'job',
	jobs: 'job',
	material: 'material',
	materials: 'material'
};

/**
 * HTTP-1 (docs/server-rules.md): an entity name from a path (404) or a query (400). Own keys only,
 * so `__proto__`, `constructor`, `toString` are unknown entities, not `Object.prototype` members.
 */
export function entityParam(value: string, field: string, status: 400 | 404): EntityName {
	const key = value.trim().toLowerCase();
	const entity = Object.hasOwn(ENTITY_ALIASES, key) ? ENTITY_ALIASES[key] : undefined;
	if (!entity)
		throw new HttpError(status, 'unknown_entity', `unknown entity "${value.slice(0, 100)}"`, field);
	return entity;
}

/** `entities=job,material` → entity names (400 unknown_entity); empty/absent → undefined (all). */
export function entitiesParam(value: string | null | undefined): EntityName[] | undefined {
	const list = value
		?.split(',')
		.filter((e) => e.trim() !== '')
		.map((e) => entityParam(e, 'entities', 400));
	return list && list.length > 0 ? list : undefined;
}

function badRequest(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): HttpError {
	const issue = error.issues[0];
	const field = issue?.path.map(String).join('.') || undefined;
	return new HttpError(400, 'invalid_request', `${field ?? 'body'}: ${issue?.message ?? 'invalid'}`, field);
}

function requireOwner(user: AuthUser): void {
	if (user.role !== 'OWNER') throw new HttpError(403, 'forbidden', 'only the owner can see sync health');
}

/**
 * Runs a push or pull, recording it for the health report whatever the outcome, and on success
 * `prepare`s the answer (serializing, compressing) while the record's statement is in flight: the
 * record is committed before the answer goes out (status' lastSync reads it), but the ~3 ms of
 * compressing a pull page no longer waits for its commit (bench:api).
 */
async function recorded<T, P>(
	deps: { db: Db; logger: Logger },
	base: {
		kind: 'push' | 'pull';
		user: AuthUser;
		deviceId: string | null;
		operations: number;
		dataBytes: number;
	},
	work: () => Promise<T>,
	summarize: (result: T) => { conflicts: number; syncToken: string; dataBytes?: number },
	prepare: (result: T) => Promise<P>
): Promise<P> {
	const started = performance.now();
	const common = {
		kind: base.kind,
		userId: base.user.id,
		deviceId: base.deviceId,
		operations: base.operations
	};
	let result: T;
	try {
		result = await work();
	} catch (error) {
		const clientError = error instanceof HttpError && error.status < 500;
		if (!clientError) {
			await recordSync(deps.db, deps.logger, {
				...common,
				durationMs: performance.now() - started,
				success: false,
				conflicts: 0,
				dataBytes: base.dataBytes,
				error: (error as Error).message
			});
		}
		throw error;
	}
	const s = summarize(result);
	// recordSync never rejects (analytics must not fail a sync), so nothing here can record twice.
	const recording = recordSync(deps.db, deps.logger, {
		...common,
		durationMs: performance.now() - started,
		success: true,
		conflicts: s.conflicts,
		dataBytes: s.dataBytes ?? base.dataBytes,
		syncToken: s.syncToken
	});
	const [, prepared] = await Promise.all([recording, prepare(result)]);
	return prepared;
}

/** `/api/sync/*` and `/api/openapi.json` (docs/rest-api.md). */
export function mountSyncRoutes(router: Router, deps: PushDeps): void {
	const { db } = deps;

	router.post('/api/sync/push', async (ctx) => {
		const user = await ctx.authenticate();
		const body = await ctx.json();
		const parsed = PushEnvelopeSchema.safeParse(body);
		if (!parsed.success) throw badRequest(parsed.error);
		const envelope = parsed.data;
		try {
			decodeToken(envelope.lastSyncToken);
		} catch (error) {
			if (error instanceof SyncError) throw new HttpError(400, error.code, error.message, error.field);
			throw error;
		}
		const maxOperations = deps.maxOperationsPerPush ?? syncDefaults.maxOperationsPerPush;
		if (envelope.operations.length > maxOperations) {
			throw new HttpError(
				400,
				'too_many_operations',
				`at most ${maxOperations} operations per push`,
				'operations'
			);
		}
		const answer = await recorded(
			deps,
			{
				kind: 'push',
				user,
				deviceId: envelope.deviceId,
				operations: envelope.operations.length,
				dataBytes: Number(ctx.req.headers['content-length'] ?? 0)
			},
			async () => {
				try {
					return await push(deps, user, envelope);
				} catch (error) {
					// not_pullable (503, Retry-After) and any other request-level SyncError.
					if (error instanceof SyncError) throw syncHttpError(error);
					throw error;
				}
			},
			(r) => ({ conflicts: r.conflicts.length, syncToken: r.syncToken }),
			(r) => compressJson(ctx.req, JSON.stringify(r))
		);
		sendCompressedJson(ctx.res, 200, answer);
		return undefined;
	});

	router.get('/api/sync/pull', async (ctx) => {
		const user = await ctx.authenticate();
		const parsed = PullQuerySchema.safeParse(Object.fromEntries(ctx.url.searchParams));
		if (!parsed.success) throw badRequest(parsed.error);
		const query = parsed.data;
		const entities = query.entities
			?.split(',')
			.filter((e) => e.trim() !== '')
			.map((e) => entityParam(e, 'entities', 400));
		const answer = await recorded(
			deps,
			{ kind: 'pull', user, deviceId: query.deviceId ?? null, operations: 0, dataBytes: 0 },
			async () => {
				try {
					return await pullPageJson(db, user, {
						lastSyncToken: query.lastSyncToken,
						entities,
						limit: query.limit
					});
				} catch (error) {
					if (error instanceof SyncError) throw new HttpError(400, error.code, error.message, error.field);
					throw error;
				}
			},
			(p) => ({ conflicts: 0, syncToken: p.syncToken, dataBytes: 0 }),
			(p) => compressJson(ctx.req, p.json)
		);
		sendCompressedJson(ctx.res, 200, answer);
		return undefined;
	});

	router.get('/api/sync/status', async (ctx) => {
		const user = await ctx.authenticate();
		const deviceId = ctx.url.searchParams.get('deviceId') ?? undefined;
		const lastSync = await lastSyncOf(db, user.id, deviceId);
		return { json: { serverTime: Date.now(), ...(lastSync ? { lastSync } : {}) } };
	});

	router.get('/api/sync/checksums/:entity', async (ctx) => {
		const user = await ctx.authenticate();
		const entity = entityParam(ctx.params.entity ?? '', 'entity', 404);
		const { rows } = await db.query<{ entity_id: string; data: Record<string, unknown>; version: number }>(
			`SELECT entity_id::text AS entity_id, data, version FROM ${visibleRowsSql(entity, user, '$1::uuid')} r ORDER BY entity_id`,
			user.role === 'OWNER' ? [] : [user.id]
		);
		const checksums: Record<string, string> = {};
		for (const row of rows) {
			checksums[row.entity_id] = await entityChecksum(
				visibleData(user, entity, { ...row.data, version: row.version })
			);
		}
		await sendJsonCompressed(ctx.req, ctx.res, 200, { entity, checksums });
		return undefined;
	});

	router.get('/api/sync/health', async (ctx) => {
		requireOwner(await ctx.authenticate());
		return { json: await healthReport(db) };
	});
	router.get('/api/sync/health/series', async (ctx) => {
		requireOwner(await ctx.authenticate());
		return { json: await healthSeries(db) };
	});
	router.get('/api/sync/devices', async (ctx) => {
		requireOwner(await ctx.authenticate());
		return { json: await devices(db) };
	});

	router.get('/api/openapi.json', async (ctx: RouteContext) => {
		await sendJsonCompressed(ctx.req, ctx.res, 200, openApiDocument());
		return undefined;
	});
}
