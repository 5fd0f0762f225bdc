// Reading our server's Prometheus text (`/metrics`) in the benches: histograms as cumulative
// buckets, their deltas over a measured span, and quantiles read off the buckets the way
// Prometheus' histogram_quantile does. One copy for bench:server and bench:peers.

/** `/metrics` is served only with a bearer token (METRICS_TOKEN); the benches give our servers this one. */
export const metricsToken = 'bench-metrics-token-bench-metrics';

export async function fetchMetrics(url: string): Promise<string> {
	return (await fetch(url, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
}

/** Document change → its rows committed (docs/architecture.md "Projection and change feed"). */
export const projectionLagMetric = 'khs_projection_lag_seconds';

/** An update applied on the server → its commit and the acks it makes due (server/collab/persistence.ts). */
export const durabilityLagMetric = 'khs_durability_lag_seconds';

/** Cumulative bucket counts of one Prometheus histogram, by upper bound (seconds). */
export type Buckets = Map<number, number>;

/** One update's append → its commit (the group-commit window included): `khs_store_duration_seconds{op="append"}`. */
export const appendCommitMetric = 'khs_store_duration_seconds';
export const appendCommitLabels = { op: 'append' } as const;

/** The histogram's buckets; with `labels`, only the series whose other labels are exactly those. */
export function parseHistogram(text: string, name: string, labels: Record<string, string> = {}): Buckets {
	const buckets: Buckets = new Map();
	const line = new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`);
	const wanted = Object.entries(labels);
	for (const row of text.split('\n')) {
		const match = line.exec(row);
		if (!match) continue;
		const found = new Map([...(match[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
		if (found.size !== wanted.length + 1 || wanted.some(([key, value]) => found.get(key) !== value)) continue;
		const le = found.get('le');
		if (le !== undefined)
			buckets.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(match[2]));
	}
	return buckets;
}

/** One gauge of the Prometheus text, NaN when absent. */
export function parseGauge(text: string, name: string): number {
	const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
	return match ? Number(match[1]) : Number.NaN;
}

/** `after - before`, bucket by bucket, added into `into`. */
export function addBucketDelta(into: Buckets, before: Buckets, after: Buckets): void {
	for (const [le, count] of after) into.set(le, (into.get(le) ?? 0) + count - (before.get(le) ?? 0));
}

/** Observations counted in `buckets`. */
export function bucketCount(buckets: Buckets): number {
	return buckets.get(Number.POSITIVE_INFINITY) ?? 0;
}

/** Quantile `p` (0–100) of cumulative buckets, linear within the bucket (like histogram_quantile). */
export function bucketQuantileMs(buckets: Buckets, p: number): number {
	const bounds = [...buckets.keys()].sort((a, b) => a - b);
	const total = bucketCount(buckets);
	if (total === 0) return Number.NaN;
	const rank = (p / 100) * total;
	let lower = 0;
	let below = 0;
	for (const le of bounds) {
		const count = buckets.get(le) ?? 0;
		if (count >= rank) {
			if (le === Number.POSITIVE_INFINITY) return lower * 1000;
			return (lower + ((le - lower) * (rank - below)) / Math.max(count - below, 1)) * 1000;
		}
		lower = le;
		below = count;
	}
	return Number.NaN;
}
