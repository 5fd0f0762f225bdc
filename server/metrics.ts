import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process-wide Prometheus registry served at `GET /metrics`. One per process on purpose:
 * persistence, projection and collab code import `metrics` and observe into it without plumbing.
 * Names follow Prometheus conventions: `_total` counters, base units (seconds, bytes).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'khs_process_' });

// Gauges whose value lives elsewhere (e.g. Hocuspocus' document map) read it at scrape time from
// the sources registered here, so several servers in one process (tests) add up instead of clashing.
const documentSources = new Set<() => number>();

export const metrics = {
	/** Open websocket connections on `/collab` (inc on open, dec on close). */
	websocketConnections: new Gauge({
		name: 'khs_websocket_connections',
		help: 'Open websocket connections on /collab',
		registers: [registry]
	}),
	/** Yjs documents currently loaded in memory (read from each Hocuspocus instance at scrape time). */
	documentsLoaded: new Gauge({
		name: 'khs_documents_loaded',
		help: 'Yjs documents currently loaded in memory',
		registers: [registry],
		collect() {
			let total = 0;
			for (const source of documentSources) total += source();
			this.set(total);
		}
	}),
	/** Document updates received from clients; `rate()` of it is updates per second. */
	updatesReceived: new Counter({
		name: 'khs_updates_received_total',
		help: 'Yjs document updates received from clients',
		registers: [registry]
	}),
	/** Latency of one document-store operation (`op`: append — until committed —, load, compact). */
	storeDuration: new Histogram({
		name: 'khs_store_duration_seconds',
		help: 'Latency of document store operations, by operation',
		labelNames: ['op'] as const,
		buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
		registers: [registry]
	}),
	/** From an update's arrival to its durable commit in the database. */
	durabilityLag: new Histogram({
		name: 'khs_durability_lag_seconds',
		help: 'Time from receiving an update to its durable commit',
		// Fine up to 25 ms so bench:peers can read the 20 ms ack goal's p99 off the buckets.
		buckets: [
			0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
			10
		],
		registers: [registry]
	}),
	/** From a document change to its rows committed by the projection (goal p99 < 250 ms: docs/architecture.md "Projection and change feed"). */
	projectionLag: new Histogram({
		name: 'khs_projection_lag_seconds',
		help: 'Time from a document change to its projected rows being committed',
		// Fine around the 250 ms goal so bench:server can read p50/p99 off the buckets.
		buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 1, 2.5, 5],
		registers: [registry]
	}),
	/** Sync API requests (push, pull) by outcome; the health report reads sync_metrics instead. */
	syncRequests: new Counter({
		name: 'khs_sync_requests_total',
		help: 'Sync API push and pull requests, by kind and outcome',
		labelNames: ['kind', 'outcome'] as const,
		registers: [registry]
	}),
	/** Websocket document connections refused in onAuthenticate, by reason. */
	collabRejections: new Counter({
		name: 'khs_collab_rejections_total',
		help: 'Websocket document connections refused, by reason',
		labelNames: ['reason'] as const,
		registers: [registry]
	}),
	/** Forbidden field changes undone by the write guard (compensating writes). */
	writeRefusals: new Counter({
		name: 'khs_write_refusals_total',
		help: 'Forbidden document changes undone by a compensating write',
		registers: [registry]
	}),
	/** Answered HTTP requests by route (not raw path, to keep cardinality bounded) and status. */
	httpRequests: new Counter({
		name: 'khs_http_requests_total',
		help: 'HTTP requests answered',
		labelNames: ['method', 'route', 'status'] as const,
		registers: [registry]
	}),
	/** Duration of one sync (push, pull, websocket initial sync), for the spec's slow-sync alert (> 30 s). */
	syncDuration: new Histogram({
		name: 'khs_sync_duration_seconds',
		help: 'Duration of one sync, by kind (push, pull, ws_sync)',
		labelNames: ['kind'] as const,
		buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
		registers: [registry]
	}),
	/** Field conflicts reported by syncs, for the spec's high-conflict alert (> 10 in one sync). */
	syncConflicts: new Counter({
		name: 'khs_sync_conflicts_total',
		help: 'Field conflicts reported by syncs',
		labelNames: ['kind'] as const,
		registers: [registry]
	}),
	/** The spec's alerts as they fire (slow_sync, high_conflicts), one per offending sync. */
	syncAlerts: new Counter({
		name: 'khs_sync_alerts_total',
		help: 'Syncs over the spec alert thresholds, by alert (slow_sync, high_conflicts)',
		labelNames: ['alert'] as const,
		registers: [registry]
	}),
	/** Document store operations that failed (a failed append means an edit was not made durable). */
	storeFailures: new Counter({
		name: 'khs_store_failures_total',
		help: 'Failed document store operations, by operation',
		labelNames: ['op'] as const,
		registers: [registry]
	}),
	/** Rows removed by retention (server/sync/retention.ts), by table. */
	retentionDeleted: new Counter({
		name: 'khs_retention_deleted_total',
		help: 'Rows removed by change feed and idempotency retention, by table',
		labelNames: ['table'] as const,
		registers: [registry]
	}),
	/** Pulls and streams answered 410 resync_required: their token was behind the retention horizon. */
	resyncRequired: new Counter({
		name: 'khs_sync_resync_required_total',
		help: 'Pulls and streams from a token behind the change log retention horizon (410)',
		registers: [registry]
	}),
	/** Open live change streams (GET /api/sync/stream). */
	syncStreams: new Gauge({
		name: 'khs_sync_streams',
		help: 'Open live change streams',
		registers: [registry]
	}),
	/** Login attempts by outcome. */
	logins: new Counter({
		name: 'khs_logins_total',
		help: 'Login attempts by outcome',
		labelNames: ['outcome'] as const,
		registers: [registry]
	})
};

/** Adds a source of loaded-document counts (one per Hocuspocus instance); returns its removal. */
export function trackLoadedDocuments(count: () => number): () => void {
	documentSources.add(count);
	return () => documentSources.delete(count);
}
