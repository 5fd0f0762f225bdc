import { type BackgroundPass, startBackgroundPass } from '../background-pass.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import { syncDefaults } from './defaults.ts';

/**
 * Retention of `change_log` and of push idempotency records (docs/server-rules.md FEED-1…FEED-6).
 *
 * change_log keeps, for ever, the current row of every entity that still exists (FEED-2): a pull
 * from no token then reads the whole current state from the log itself, with the same reader,
 * paging and token as any pull, instead of a second snapshot reader that would have to agree with
 * the feed's (txid, seq) order. What goes is every row older than the retention window whose
 * entity is gone, or that is not its entity's current row while the current row is already below
 * the feed's horizon. Each batch advances `change_log_horizon` to the greatest position it deleted,
 * in the same statement (FEED-3), so change-feed.ts can tell exactly which tokens may have a gap.
 */
export interface RetentionSettings {
	changeLogRetentionDays: number;
	pushIdempotencyRetentionDays: number;
	batchSize: number;
	intervalMs: number;
	pauseMs: number;
}

export const retentionDefaults: RetentionSettings = {
	changeLogRetentionDays: syncDefaults.changeLogRetentionDays,
	pushIdempotencyRetentionDays: syncDefaults.pushIdempotencyRetentionDays,
	batchSize: syncDefaults.retentionBatchSize,
	intervalMs: syncDefaults.retentionIntervalMs,
	pauseMs: syncDefaults.retentionPauseMs
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** The version of entity `s` in its projected table; NULL when the entity is gone. */
const CURRENT_VERSION = `CASE s.entity_type
	WHEN 'customer' THEN (SELECT e.version FROM customers e WHERE e.id = s.entity_id)
	WHEN 'job' THEN (SELECT e.version FROM jobs e WHERE e.id = s.entity_id)
	ELSE (SELECT e.version FROM materials e WHERE e.id = s.entity_id) END`;

/**
 * One batch: looks at up to `$2` rows after seq `$1` (seq order ≈ age order), deletes those that
 * FEED-2 lets go and moves the horizon — one statement, so one snapshot and one commit.
 *
 * An entity's current row (FEED-2) is its newest row by seq carrying the version its projected row
 * has now. Not "the greatest (version, txid, seq)": a version starts again at 1 when an entity is
 * re-created after a hard delete, so the old life's rows (its DELETE among them) would outrank the
 * live one and the live row would go, leaving a full pull with the DELETE. Within one life, every
 * write of an entity holds its row lock until commit, so its log row takes a greater seq than every
 * earlier write's, including the previous life's DELETE (a re-INSERT waits on the deleter). The
 * version filter then skips a REVEAL copied from a snapshot older than a concurrent write (greater
 * seq, older version), which seq alone would keep.
 */
const CHANGE_LOG_BATCH_SQL = `
WITH scanned AS (
	SELECT seq, txid, entity_type, entity_id, version, changed_at
	FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2
), victims AS (
	SELECT s.seq FROM scanned s
	CROSS JOIN LATERAL (SELECT ${CURRENT_VERSION} AS version) cur
	LEFT JOIN LATERAL (
		SELECT k.seq, k.txid FROM change_log k
		WHERE k.entity_type = s.entity_type AND k.entity_id = s.entity_id AND k.version = cur.version
		ORDER BY k.seq DESC LIMIT 1
	) kept ON true
	WHERE s.changed_at < $3
	  AND s.txid < pg_snapshot_xmin(pg_current_snapshot())
	  AND (cur.version IS NULL
	       OR (kept.seq <> s.seq AND kept.txid < pg_snapshot_xmin(pg_current_snapshot())))
), gone AS (
	DELETE FROM change_log c WHERE c.seq IN (SELECT seq FROM victims) RETURNING c.txid, c.seq
), top AS (
	SELECT txid, seq FROM gone ORDER BY txid DESC, seq DESC LIMIT 1
), moved AS (
	UPDATE change_log_horizon h SET txid = top.txid, seq = top.seq, advanced_at = now()
	FROM top WHERE (h.txid, h.seq) < (top.txid, top.seq)
	RETURNING h.seq
)
SELECT (SELECT count(*)::int FROM scanned) AS scanned,
       (SELECT coalesce(max(seq), 0) FROM scanned) AS last_seq,
       (SELECT count(*)::int FROM scanned WHERE changed_at < $3) AS old,
       (SELECT count(*)::int FROM gone) AS deleted`;

const IDEMPOTENCY_BATCH_SQL = `
WITH gone AS (
	DELETE FROM sync_operations
	WHERE id IN (SELECT id FROM sync_operations WHERE processed_at < $1 ORDER BY processed_at LIMIT $2)
	RETURNING 1
)
SELECT count(*)::int AS deleted FROM gone`;

export interface RetentionRun {
	changeLogDeleted: number;
	idempotencyDeleted: number;
	batches: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One full pass at time `now`, in batches, pausing `pauseMs` between them so the single PGlite
 * connection and Postgres' locks are held only briefly (FEED-6).
 */
export async function runRetention(
	db: Db,
	settings: Partial<RetentionSettings> = {},
	now: number = Date.now(),
	shouldStop: () => boolean = () => false
): Promise<RetentionRun> {
	const s = { ...retentionDefaults, ...settings };
	const run: RetentionRun = { changeLogDeleted: 0, idempotencyDeleted: 0, batches: 0 };
	const changeCutoff = new Date(now - s.changeLogRetentionDays * DAY_MS);
	let afterSeq = 0;
	while (!shouldStop()) {
		const { rows } = await db.query<{ scanned: number; last_seq: number; old: number; deleted: number }>(
			CHANGE_LOG_BATCH_SQL,
			[afterSeq, s.batchSize, changeCutoff]
		);
		const r = rows[0];
		run.batches++;
		if (!r) break;
		run.changeLogDeleted += r.deleted;
		if (r.deleted > 0) metrics.retentionDeleted.inc({ table: 'change_log' }, r.deleted);
		// Past the window: the rest of the log is younger (seq order is insertion order).
		if (r.scanned < s.batchSize || r.old === 0) break;
		afterSeq = Number(r.last_seq);
		await pause(s.pauseMs);
	}
	const idempotencyCutoff = new Date(now - s.pushIdempotencyRetentionDays * DAY_MS);
	while (!shouldStop()) {
		const { rows } = await db.query<{ deleted: number }>(IDEMPOTENCY_BATCH_SQL, [
			idempotencyCutoff,
			s.batchSize
		]);
		run.batches++;
		const deleted = rows[0]?.deleted ?? 0;
		run.idempotencyDeleted += deleted;
		if (deleted > 0) metrics.retentionDeleted.inc({ table: 'sync_operations' }, deleted);
		if (deleted < s.batchSize) break;
		await pause(s.pauseMs);
	}
	return run;
}

/** The background retention worker: `runNow` for tests and operators. */
export type RetentionWorker = BackgroundPass<RetentionRun>;

/** Runs `runRetention` every `intervalMs` in the background (timer unref'd: never holds the process). */
export function startRetention(options: {
	db: Db;
	logger: Logger;
	settings?: Partial<RetentionSettings> | undefined;
}): RetentionWorker {
	const settings = { ...retentionDefaults, ...options.settings };
	return startBackgroundPass({
		intervalMs: settings.intervalMs,
		run: (now, shouldStop) => runRetention(options.db, settings, now, shouldStop),
		onDone: (run) => {
			if (run.changeLogDeleted + run.idempotencyDeleted > 0) options.logger.info(run, 'retention pass');
		},
		onError: (err) => options.logger.error({ err }, 'retention pass failed')
	});
}
