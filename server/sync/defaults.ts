/** Tunables of the sync API. Units are in the names. */
export const syncDefaults = {
	/** Changes plus deletions per pull page when `limit` is absent (docs/rest-api.md "Pull"). */
	pullLimit: 1000,
	/** Largest `limit` honoured. */
	pullLimitMax: 5000,
	/**
	 * Longest a push waits for what it wrote to be stored durably before answering 503
	 * `database_unavailable` (resend it: idempotent by operation id). Without a bound, a push during
	 * a Postgres outage held its request open until the database came back, so clients saw no
	 * answer at all (fault suite, "Postgres stopped": "none" answers after their 10 s timeout).
	 */
	durableTimeoutMs: 5_000,
	/** Longest a push waits for its projection to become pullable before answering 503. */
	visibleTimeoutMs: 10_000,
	/** Health report window (the spec's "last 24 hours"). */
	healthWindowMs: 24 * 60 * 60 * 1000,
	/** Health series bucket. */
	healthSeriesBucketMs: 60 * 60 * 1000,
	/** Spec alerts: a sync slower than this is logged. */
	slowSyncAlertMs: 30_000,
	/** Spec alerts: more conflicts than this in one sync are logged. */
	highConflictAlertCount: 10,
	/** Operations accepted in one push. */
	maxOperationsPerPush: 1000,
	/** `CHANGE_LOG_RETENTION_DAYS`: change_log rows older than this may be pruned (FEED-1). */
	changeLogRetentionDays: 30,
	/** `PUSH_IDEMPOTENCY_RETENTION_DAYS`: sync_operations records older than this are pruned (FEED-5). */
	pushIdempotencyRetentionDays: 7,
	/** Rows one retention statement looks at; small so a batch never holds the database for long (FEED-6). */
	retentionBatchSize: 500,
	/** How often retention wakes up; a run goes on in batches until nothing past the horizon is left. */
	retentionIntervalMs: 10 * 60 * 1000,
	/** Pause between two retention batches, so pushes and pulls interleave with a long run. */
	retentionPauseMs: 50,
	/** The live stream (`GET /api/sync/stream`): changes per pull behind one notification. */
	streamPullLimit: 500,
	/** The live stream also pulls this often without a notification (changes projected by another instance). */
	streamPollMs: 5000,
	/** The live stream's `retry:` hint to EventSource clients. */
	streamRetryMs: 3000
} as const;
