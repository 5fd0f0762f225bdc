import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import { syncDefaults } from './defaults.ts';
import type { DeviceSync, HealthPoint, SyncHealth } from './schemas.ts';

/**
 * The spec's SyncAnalytics: one `sync_metrics` row per push or pull, and for the app's websocket
 * syncs one per document connection (`ws_sync`) plus its later edits per device and window
 * (`ws_edits`, see collab/sync-sessions.ts); the health report over the last 24 h, its hourly series
 * and each device's last sync. Alerts (a sync over 30 s, more than 10 conflicts in one sync) are
 * logged as the spec asks.
 */
export type SyncKind = 'push' | 'pull' | 'ws_sync' | 'ws_edits';

export interface SyncRecord {
	kind: SyncKind;
	/** Null for a websocket connection refused before its user was known (a bad token). */
	userId: string | null;
	deviceId: string | null;
	/** Null for `ws_edits`: a batch of edits has no duration of its own. */
	durationMs: number | null;
	success: boolean;
	operations: number;
	conflicts: number;
	dataBytes: number;
	error?: string | undefined;
	/** The token a device can continue from (status' lastSync). */
	syncToken?: string | undefined;
}

/** The spec's SyncHealthReport, as `GET /api/sync/health` answers it (schemas.ts). */
export type SyncHealthReport = SyncHealth;

function alertOn(logger: Logger, record: SyncRecord): void {
	if (record.durationMs !== null)
		metrics.syncDuration.observe({ kind: record.kind }, record.durationMs / 1000);
	if (record.conflicts > 0) metrics.syncConflicts.inc({ kind: record.kind }, record.conflicts);
	if (record.durationMs !== null && record.durationMs > syncDefaults.slowSyncAlertMs) {
		metrics.syncAlerts.inc({ alert: 'slow_sync' });
		logger.warn(
			{ alert: 'slow_sync', ...record },
			`sync took ${Math.round(record.durationMs)} ms (over 30 s)`
		);
	}
	if (record.conflicts > syncDefaults.highConflictAlertCount) {
		metrics.syncAlerts.inc({ alert: 'high_conflicts' });
		logger.warn(
			{ alert: 'high_conflicts', ...record },
			`${record.conflicts} conflicts in one sync (over 10)`
		);
	}
}

export async function recordSync(db: Db, logger: Logger, record: SyncRecord): Promise<void> {
	metrics.syncRequests.inc({ kind: record.kind, outcome: record.success ? 'ok' : 'error' });
	alertOn(logger, record);
	const params = [
		record.kind,
		record.userId,
		record.deviceId,
		record.durationMs,
		record.success,
		record.operations,
		record.conflicts,
		record.dataBytes,
		record.error ?? null
	];
	try {
		if (record.deviceId && record.syncToken && record.success) {
			// One statement, one commit: every push and pull pays this round trip (bench:api), and the
			// device's last sync goes in with its metrics row.
			await db.query(
				`WITH m AS (
				   INSERT INTO sync_metrics (kind, user_id, device_id, duration_ms, success, operations, conflicts, data_bytes, error)
				   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				 )
				 INSERT INTO sync_devices (user_id, device_id, last_sync_at, sync_token) VALUES ($2, $3, now(), $10)
				 ON CONFLICT (user_id, device_id) DO UPDATE SET last_sync_at = now(), sync_token = EXCLUDED.sync_token`,
				[...params, record.syncToken]
			);
		} else {
			await db.query(
				`INSERT INTO sync_metrics (kind, user_id, device_id, duration_ms, success, operations, conflicts, data_bytes, error)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				params
			);
		}
	} catch (err) {
		// Analytics must never fail a sync that succeeded.
		logger.error({ err }, 'cannot record sync metrics');
	}
}

/** Rows per INSERT of a batch (9 parameters each, well under Postgres' 65,535). */
const BATCH_ROWS = 500;

/**
 * Many records in few statements (the websocket sessions' background flush), and the successful
 * ones' devices marked as synced now. Never throws: failures are logged.
 */
export async function recordSyncBatch(db: Db, logger: Logger, records: readonly SyncRecord[]): Promise<void> {
	if (records.length === 0) return;
	for (const record of records) alertOn(logger, record);
	try {
		for (let start = 0; start < records.length; start += BATCH_ROWS) {
			const chunk = records.slice(start, start + BATCH_ROWS);
			const params: unknown[] = [];
			const rows = chunk.map((r) => {
				const at = params.length;
				params.push(
					r.kind,
					r.userId,
					r.deviceId,
					r.durationMs,
					r.success,
					r.operations,
					r.conflicts,
					Math.min(r.dataBytes, 2 ** 31 - 1),
					r.error ?? null
				);
				return `(${Array.from({ length: 9 }, (_, i) => `$${at + i + 1}`).join(', ')})`;
			});
			await db.query(
				`INSERT INTO sync_metrics (kind, user_id, device_id, duration_ms, success, operations, conflicts, data_bytes, error)
				 VALUES ${rows.join(', ')}`,
				params
			);
		}
	} catch (err) {
		logger.error({ err, records: records.length }, 'cannot record sync metrics');
	}
	await touchDevices(
		db,
		logger,
		records.filter((r) => r.success).flatMap((r) => (r.userId && r.deviceId ? [r as DeviceRef] : []))
	);
}

export interface DeviceRef {
	userId: string;
	deviceId: string;
}

/**
 * Marks devices as synced now (a websocket device that is connected and in sync). Keeps a REST
 * device's continuation token; a device seen only over the websocket has none. Never throws.
 */
export async function touchDevices(db: Db, logger: Logger, refs: readonly DeviceRef[]): Promise<void> {
	const unique = new Map(refs.map((r) => [`${r.userId} ${r.deviceId}`, r]));
	if (unique.size === 0) return;
	try {
		const all = [...unique.values()];
		for (let start = 0; start < all.length; start += BATCH_ROWS) {
			const chunk = all.slice(start, start + BATCH_ROWS);
			await db.query(
				`INSERT INTO sync_devices (user_id, device_id, last_sync_at)
				 VALUES ${chunk.map((_, i) => `($${2 * i + 1}, $${2 * i + 2}, now())`).join(', ')}
				 ON CONFLICT (user_id, device_id) DO UPDATE SET last_sync_at = now()`,
				chunk.flatMap((r) => [r.userId, r.deviceId])
			);
		}
	} catch (err) {
		logger.error({ err, devices: unique.size }, 'cannot record device syncs');
	}
}

interface Totals {
	n: number;
	ok: number;
	avg_ms: number | null;
	ops: number;
	conflicts: number;
	bytes: number | string;
}

/**
 * Success rate and duration are over sync attempts (pushes, pulls, websocket connections); batches of
 * live edits (`ws_edits`) only add operations, conflicts and bytes.
 */
const TOTALS = `(count(*) FILTER (WHERE kind <> 'ws_edits'))::int AS n,
	(count(*) FILTER (WHERE success AND kind <> 'ws_edits'))::int AS ok, avg(duration_ms)::float8 AS avg_ms,
	coalesce(sum(operations), 0)::int AS ops, coalesce(sum(conflicts), 0)::int AS conflicts,
	coalesce(sum(data_bytes), 0)::int8 AS bytes`;

function rates(t: Totals) {
	return {
		successRate: t.n > 0 ? t.ok / t.n : 1,
		averageDuration: t.avg_ms ?? 0,
		// Conflicting fields per pushed operation, capped: a fraction 0..1 (docs/rest-api.md "Health").
		conflictRate: t.ops > 0 ? Math.min(1, t.conflicts / t.ops) : 0
	};
}

export async function healthReport(
	db: Db,
	windowMs: number = syncDefaults.healthWindowMs
): Promise<SyncHealthReport> {
	const { rows } = await db.query<Totals>(
		`SELECT ${TOTALS} FROM sync_metrics WHERE at > now() - make_interval(secs => $1)`,
		[windowMs / 1000]
	);
	const t = rows[0] ?? { n: 0, ok: 0, avg_ms: null, ops: 0, conflicts: 0, bytes: 0 };
	const r = rates(t);
	const recommendations: string[] = [];
	if (r.successRate < 0.95)
		recommendations.push('More than 5% of syncs failed: check the server logs and network reachability.');
	if (r.conflictRate > 0.1)
		recommendations.push(
			'Over 10% of operations conflicted: sync more often, or review the conflict policy of hot fields.'
		);
	if (r.averageDuration > 5_000)
		recommendations.push('Syncs average over 5 s: use smaller pull pages or compression.');
	return { ...r, dataVolume: Number(t.bytes), recommendations };
}

export async function healthSeries(
	db: Db,
	windowMs: number = syncDefaults.healthWindowMs,
	bucketMs: number = syncDefaults.healthSeriesBucketMs
): Promise<HealthPoint[]> {
	const { rows } = await db.query<Totals & { bucket: number | string }>(
		`SELECT floor(extract(epoch FROM at) * 1000 / $2)::int8 AS bucket, ${TOTALS}
		 FROM sync_metrics WHERE at > now() - make_interval(secs => $1) GROUP BY 1 ORDER BY 1`,
		[windowMs / 1000, bucketMs]
	);
	// An hour with edits but no sync attempt has no success rate or duration: a gap, not 100 % / 0 ms.
	return rows.map((row) => {
		const r = rates(row);
		return {
			at: Number(row.bucket) * bucketMs,
			successRate: row.n > 0 ? r.successRate : null,
			conflictRate: r.conflictRate,
			averageDuration: row.avg_ms === null ? null : r.averageDuration
		};
	});
}

export async function devices(db: Db): Promise<DeviceSync[]> {
	const { rows } = await db.query<{ device_id: string; user_id: string; last_sync_at: Date | string | null }>(
		'SELECT device_id, user_id::text AS user_id, last_sync_at FROM sync_devices ORDER BY last_sync_at DESC'
	);
	return rows.map((r) => ({
		deviceId: r.device_id,
		userId: r.user_id,
		lastSync: r.last_sync_at ? new Date(r.last_sync_at).getTime() : null
	}));
}

export async function lastSyncOf(
	db: Db,
	userId: string,
	deviceId: string | undefined
): Promise<{ deviceId: string; timestamp: number; syncToken: string } | undefined> {
	const { rows } = await db.query<{ device_id: string; last_sync_at: Date | string; sync_token: string }>(
		`SELECT device_id, last_sync_at, sync_token FROM sync_devices
		 WHERE user_id = $1 AND ($2::text IS NULL OR device_id = $2) AND sync_token IS NOT NULL
		 ORDER BY last_sync_at DESC LIMIT 1`,
		[userId, deviceId ?? null]
	);
	const row = rows[0];
	return row
		? { deviceId: row.device_id, timestamp: new Date(row.last_sync_at).getTime(), syncToken: row.sync_token }
		: undefined;
}
