/** Tunables of the projection (documents → rows). Units are in the names. */
export const projectionDefaults = {
	/**
	 * Changes to one document within this window are projected once (a crew ticking ten materials
	 * is one transaction). Issue 4's goal is projection lag p99 < 250 ms; this is the floor of it.
	 */
	coalesceMs: 20,
	/** A failed projection is retried after this long (doubling, capped), never dropped. */
	retryDelayMs: 100,
	retryMaxDelayMs: 5_000
} as const;
