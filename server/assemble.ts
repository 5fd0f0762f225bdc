import { type App, type AppOptions, createApp } from './app.ts';
import { instrumentDocStore } from './collab/instrument.ts';
import { createPersistenceExtension, type PersistenceSettings } from './collab/persistence.ts';
import type { RedisScaleOutOptions } from './collab/redis.ts';
import {
	createLocalRevocationBus,
	createRedisRevocationBus,
	type RevocationBus
} from './collab/revocation-bus.ts';
import { createSyncSessions, type SyncSessionSettings } from './collab/sync-sessions.ts';
import { createWriteGuardExtension } from './collab/write-guard.ts';
import { type MaintenanceWorker, startMaintenance } from './db/maintenance.ts';
import type { Db } from './db/port.ts';
import { createDocStore, type DocStore } from './docs/store.ts';
import type { Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import { countStoreFailures } from './store-failures.ts';
import { createSyncApi, type SyncApi, type SyncPushSettings } from './sync/index.ts';
import type { PolicyTable } from './sync/policy.ts';
import { type RetentionSettings, type RetentionWorker, startRetention } from './sync/retention.ts';

/**
 * The product's server wiring in one place — storage, persistence, write rules, the app — so
 * `main.ts`, `npm run seed:demo` and process-level tests run exactly the same server.
 */
export interface AssembleOptions extends Omit<AppOptions, 'db' | 'logger' | 'hocuspocusExtensions'> {
	db: Db;
	logger: Logger;
	/** Set → scale-out through Redis (`REDIS_URL`), see collab/redis.ts. */
	redis?: RedisScaleOutOptions | undefined;
	/** Persistence tunables (tests: e.g. frequent compaction). */
	persistence?: Partial<PersistenceSettings>;
	/** Websocket sync metrics tunables (tests: a short edits window). */
	syncSessions?: Partial<SyncSessionSettings>;
	/** Conflict policy of the REST sync API; default `defaultPolicy` (tests: one strategy everywhere). */
	syncPolicy?: PolicyTable;
	/** REST push limits (tests: a tiny `visibleTimeoutMs`); default `syncDefaults`. */
	syncSettings?: SyncPushSettings;
	/** Change feed and idempotency retention (docs/server-rules.md FEED-*); runs in the background. */
	retention?: Partial<RetentionSettings>;
}

export interface AssembledServer {
	app: App;
	store: DocStore;
	/** The projection and REST sync API, for tests that wait on projections. */
	sync: SyncApi;
	/** The background retention worker (`runNow` for tests and operators). */
	retention: RetentionWorker;
	/** The embedded database's vacuum and analyze (server/db/maintenance.ts); null on Postgres, which has autovacuum. */
	maintenance: MaintenanceWorker | null;
	/** Stops the app gracefully and flushes every pending append; leaves the database open. */
	close(): Promise<void>;
}

export async function assembleServer(options: AssembleOptions): Promise<AssembledServer> {
	const {
		db,
		logger,
		redis,
		persistence: persistenceSettings,
		syncSessions: sessionSettings,
		syncPolicy,
		syncSettings,
		retention: retentionSettings,
		...appOptions
	} = options;
	const store = instrumentDocStore(countStoreFailures(createDocStore(db)));
	const persistence = createPersistenceExtension({
		store,
		logger: logger.child({ subsystem: 'persistence' }),
		onDurable: ({ oldestAppendMs }) => metrics.durabilityLag.observe(oldestAppendMs / 1000),
		// With Redis, log what peers relay too: an ack must never rest on a peer's commit (collab/redis.ts).
		logRemoteUpdates: redis !== undefined,
		...persistenceSettings
	});
	// The app's websocket syncs in the sync health report (written like REST syncs, sync/analytics.ts).
	const syncSessions = createSyncSessions({
		db,
		logger: logger.child({ subsystem: 'sync-sessions' }),
		...(sessionSettings ? { settings: sessionSettings } : {})
	});
	const writeGuard = createWriteGuardExtension({
		logger: logger.child({ subsystem: 'write-guard' }),
		onRefused: ({ connection }) => {
			metrics.writeRefusals.inc();
			syncSessions.writeRefused(connection);
		}
	});
	// SES-5: one revocation bus for crew removals, logouts and user changes; over the shared Redis
	// (on clients of the scale-out extension's own, so no second set of Redis settings) when there is one.
	const revokeLogger = logger.child({ subsystem: 'revoke' });
	// Imported only with Redis configured: the scale-out extension and ioredis hold ~6.5 MB of RSS
	// (RSS after start and two GCs, 2026-12-02) that a single instance never uses.
	const scaleOut = redis ? await import('./collab/redis.ts') : undefined;
	const redisExtension = redis && scaleOut ? scaleOut.createRedisExtension(redis) : undefined;
	const revocations: RevocationBus =
		redis && scaleOut && redisExtension
			? await createRedisRevocationBus({
					client: redisExtension.pub,
					prefix: redis.prefix ?? scaleOut.redisDefaults.prefix,
					logger: revokeLogger
				})
			: createLocalRevocationBus(revokeLogger);
	// Projection, change log and the REST sync API (docs/rest-api.md); push waits on persistence for durability.
	// A committed crew removal closes the removed workers' open connections on every instance (access
	// is otherwise only decided when a connection opens).
	const sync = createSyncApi({
		db,
		logger,
		durability: persistence,
		...(syncPolicy ? { policy: syncPolicy } : {}),
		...(syncSettings ? { settings: syncSettings } : {}),
		onAssignmentsRemoved: (removed) => {
			for (const { jobId, userIds } of removed) {
				void revocations.publish({ kind: 'assignment-removed', jobId, userIds: [...userIds] });
			}
		}
	});
	const app = await createApp({
		...appOptions,
		db,
		logger,
		revocations,
		routes: [...(appOptions.routes ?? []), sync.mount],
		// The guard first: its compensating writes are then logged by persistence like any update.
		// Redis last: it relays what the others accepted (its priority orders its own hooks anyway).
		hocuspocusExtensions: [
			syncSessions,
			writeGuard,
			persistence,
			...sync.extensions,
			...(redisExtension ? [redisExtension] : [])
		]
	});
	const retention = startRetention({
		db,
		logger: logger.child({ subsystem: 'retention' }),
		settings: retentionSettings
	});
	const maintenance =
		db.kind === 'pglite'
			? startMaintenance({ db, logger: logger.child({ subsystem: 'maintenance' }) })
			: null;
	return {
		app,
		store,
		sync,
		retention,
		maintenance,
		async close() {
			await retention.stop();
			await maintenance?.stop();
			// app.close() waits for documents to unload and runs onDestroy, which flushes persistence;
			// flushing again is cheap and makes the order explicit before the database goes away.
			await app.close();
			await revocations.close();
			await persistence.flush();
			await store.close();
		}
	};
}
