/** Retry policy of the client queue (spec "Queue Implementation"). Units in the names. */
export const clientDefaults = {
	/** First retry after 1 s, then 2 s, 4 s, 8 s… */
	baseDelayMs: 1_000,
	/** …capped at 30 s. */
	maxDelayMs: 30_000,
	/** After this many failed attempts an operation is `failed`: kept and reported, never dropped. */
	retryLimit: 5,
	/** Operations per push (the spec's `dequeue(100)`). */
	pushBatchSize: 100,
	/** Changes per pull page (the spec's `limit: 1000`). */
	pullLimit: 1_000
} as const;

/** Delay before retry number `attempt` (1-based): 1 s, 2 s, 4 s… capped at 30 s. */
export function backoffDelayMs(
	attempt: number,
	base = clientDefaults.baseDelayMs,
	max = clientDefaults.maxDelayMs
): number {
	return Math.min(base * 2 ** Math.max(0, attempt - 1), max);
}
