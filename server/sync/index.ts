import type { Extension } from '@hocuspocus/server';
import { HybridClock } from '../../crdt/index.ts';
import type { AppServices } from '../app.ts';
import type { Db } from '../db/port.ts';
import type { Router } from '../http/router.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { type BoardStreams, mountBoardRoutes } from '../projection/board-routes.ts';
import { createProjectionExtension, type ProjectionExtension } from '../projection/extension.ts';
import type { RemovedAssignment } from '../projection/write.ts';
import { OperationsInProcess } from './idempotency.ts';
import { defaultPolicy, type PolicyTable } from './policy.ts';
import type { PushDeps } from './push.ts';
import { entitiesParam, mountSyncRoutes } from './routes.ts';
import { mountSyncStream, type SyncStreams } from './stream.ts';

export interface SyncApiOptions {
	db: Db;
	logger?: Logger;
	/** The persistence extension: push waits on its `whenDurable` (collab/persistence.ts). */
	durability: PushDeps['durability'];
	policy?: PolicyTable;
	/** Projection coalescing window, ms. */
	coalesceMs?: number;
	/** Told when a committed projection took users off a job's crew (see collab/revoke.ts). */
	onAssignmentsRemoved?: (removed: readonly RemovedAssignment[]) => void;
	/** Push limits; each defaults to `syncDefaults` (tests: a tiny `visibleTimeoutMs`). */
	settings?: SyncPushSettings;
}

export type SyncPushSettings = Partial<
	Pick<PushDeps, 'visibleTimeoutMs' | 'durableTimeoutMs' | 'maxOperationsPerPush'>
>;

/** Everything the projection and REST sync API (docs/rest-api.md) add to the server, in the two shapes `createApp` takes. */
export interface SyncApi {
	projection: ProjectionExtension;
	/** Add to `hocuspocusExtensions`, after persistence. */
	extensions: Extension[];
	/** Add to `routes`. */
	mount(router: Router, services: AppServices): void;
}

export function createSyncApi(options: SyncApiOptions): SyncApi {
	const logger = options.logger ?? silentLogger();
	const projection = createProjectionExtension({
		db: options.db,
		logger: logger.child({ subsystem: 'projection' }),
		...(options.coalesceMs === undefined ? {} : { coalesceMs: options.coalesceMs }),
		...(options.onAssignmentsRemoved ? { onAssignmentsRemoved: options.onAssignmentsRemoved } : {})
	});
	// This API's pushes in flight: per instance, so two apps in one process never share it.
	const inProcess = new OperationsInProcess();
	let streams: BoardStreams | undefined;
	let syncStreams: SyncStreams | undefined;
	// Ends the board's event streams at shutdown (app.close runs onDestroy before closing HTTP).
	const shutdown: Extension = {
		extensionName: 'khs-sync-shutdown',
		async onDestroy() {
			streams?.closeAll();
			syncStreams?.closeAll();
		}
	};
	return {
		projection,
		extensions: [projection, shutdown],
		mount(router, services) {
			mountSyncRoutes(router, {
				db: options.db,
				hocuspocus: services.hocuspocus,
				projection,
				durability: options.durability,
				clock: new HybridClock(),
				policy: options.policy ?? defaultPolicy,
				logger: logger.child({ subsystem: 'sync' }),
				inProcess,
				...options.settings
			});
			syncStreams = mountSyncStream(router, {
				db: options.db,
				authenticate: services.authenticate,
				projection,
				logger: logger.child({ subsystem: 'sync-stream' }),
				sessions: services.streams,
				parseEntities: entitiesParam
			});
			streams = mountBoardRoutes(router, {
				db: options.db,
				authenticate: services.authenticate,
				projection,
				sessions: services.streams,
				logger: options.logger
			});
		}
	};
}
