/** Tunables of the projection (documents → rows). Units are in the names. */
export const projectionDefaults = {
	/**
	 * A pass starts this long after the first change it takes, and takes every document changed by
	 * then (one transaction for all). bench:server (500 edits/s over 50 documents): 20 ms per document
	 * meant a whole-document projection per edit; one 50 ms window for all documents cuts transactions
	 * to ≤ 20/s while keeping the lag goal (p99 < 250 ms, docs/architecture.md "Projection and change feed") in reach. Push does not wait for it.
	 */
	coalesceMs: 50,
	/** A failed projection is retried after this long (doubling, capped), never dropped. */
	retryDelayMs: 100,
	retryMaxDelayMs: 5_000
} as const;
