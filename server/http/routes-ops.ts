import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BackupError, dumpPgliteBackup } from '../db/backup.ts';
import type { Db } from '../db/port.ts';
import { registry } from '../metrics.ts';
import { httpDefaults } from './defaults.ts';
import { HttpError } from './errors.ts';
import type { Router } from './router.ts';

/**
 * Whether `req` carries `Authorization: Bearer <metricsToken>` (constant-time comparison). With no
 * token configured, nobody may read metrics on the public port (OPS-1).
 */
export function metricsAuthorized(req: IncomingMessage, metricsToken: string | undefined): boolean {
	if (!metricsToken) return false;
	const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
	const a = Buffer.from(given);
	const b = Buffer.from(metricsToken);
	return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * `GET /healthz`: 200 `{ok:true, db:'up'}` when `SELECT 1` answers in time, else 503; also 503
 * while shutting down so a load balancer stops sending new clients.
 * `GET /metrics`: Prometheus text of `server/metrics.ts`, only with `Authorization: Bearer
 * <METRICS_TOKEN>` (401 without it); 404 when no token is configured (OPS-1).
 */
export function mountOpsRoutes(
	router: Router,
	deps: { db: Db; isDraining: () => boolean; healthTimeoutMs?: number; metricsToken?: string | undefined }
): void {
	router.get('/healthz', async (ctx) => {
		const timeoutMs = deps.healthTimeoutMs ?? httpDefaults.healthTimeoutMs;
		let timer: NodeJS.Timeout | undefined;
		const dbUp = await Promise.race([
			deps.db.query('SELECT 1').then(
				() => true,
				(err: unknown) => {
					ctx.log.warn({ err }, 'health check: database query failed');
					return false;
				}
			),
			new Promise<false>((resolve) => {
				timer = setTimeout(() => resolve(false), timeoutMs);
			})
		]).finally(() => clearTimeout(timer));
		const draining = deps.isDraining();
		const ok = dbUp && !draining;
		return {
			status: ok ? 200 : 503,
			json: draining ? { ok, db: dbUp ? 'up' : 'down', draining } : { ok, db: dbUp ? 'up' : 'down' }
		};
	});

	// OPS-2: an owner downloads a consistent backup of the embedded database while it runs.
	router.get('/api/ops/backup', async (ctx) => {
		const user = await ctx.authenticate();
		if (user.role !== 'OWNER') throw new HttpError(403, 'forbidden', 'only the owner can download backups');
		let backup: Uint8Array;
		try {
			backup = await dumpPgliteBackup(deps.db);
		} catch (error) {
			if (error instanceof BackupError) throw new HttpError(409, error.code, error.message);
			throw error;
		}
		ctx.log.info({ bytes: backup.byteLength, by: user.id }, 'backup downloaded');
		ctx.res.writeHead(200, {
			'content-type': 'application/gzip',
			'content-length': String(backup.byteLength),
			'content-disposition': `attachment; filename="khs-backup-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz"`,
			'cache-control': 'no-store'
		});
		ctx.res.end(backup);
		return undefined;
	});

	router.get('/metrics', async (ctx) => {
		if (!deps.metricsToken)
			throw new HttpError(404, 'not_found', 'metrics are served only when METRICS_TOKEN is set');
		if (!metricsAuthorized(ctx.req, deps.metricsToken)) {
			throw new HttpError(
				401,
				'unauthorized',
				'metrics need Authorization: Bearer <METRICS_TOKEN>',
				undefined,
				{
					'www-authenticate': 'Bearer realm="metrics"'
				}
			);
		}
		return { text: await registry.metrics(), contentType: registry.contentType };
	});
}
