import type { Db } from '../db/port.ts';
import { registry } from '../metrics.ts';
import { httpDefaults } from './defaults.ts';
import type { Router } from './router.ts';

/**
 * `GET /healthz`: 200 `{ok:true, db:'up'}` when `SELECT 1` answers in time, else 503; also 503
 * while shutting down so a load balancer stops sending new clients.
 * `GET /metrics`: Prometheus text of `server/metrics.ts`.
 */
export function mountOpsRoutes(
	router: Router,
	deps: { db: Db; isDraining: () => boolean; healthTimeoutMs?: number }
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

	router.get('/metrics', async () => ({
		text: await registry.metrics(),
		contentType: registry.contentType
	}));
}
