import { authDefaults } from './defaults.ts';

/**
 * Counts failed logins per key (the account's email) in a fixed window, so password guessing is
 * slowed to `maxFailures` tries per window per account. In memory, per instance:
 * good enough for a handful of instances; a shared store would be needed for strict global limits.
 */
export interface LoginLimiter {
	/** Milliseconds until `keys` may try again, or 0 when none of them is blocked. */
	retryAfterMs(keys: readonly string[]): number;
	/** Records one failed attempt for each key. */
	fail(keys: readonly string[]): void;
	/** Forgets the keys (after a successful login). */
	reset(keys: readonly string[]): void;
}

export function createLoginLimiter(
	options: { maxFailures?: number; windowMs?: number; maxKeys?: number; now?: () => number } = {}
): LoginLimiter {
	const maxFailures = options.maxFailures ?? authDefaults.maxFailedLoginsPerWindow;
	const windowMs = options.windowMs ?? authDefaults.loginWindowMs;
	const maxKeys = options.maxKeys ?? authDefaults.loginLimiterMaxKeys;
	const now = options.now ?? Date.now;
	// Map keeps insertion order: the first entry is the oldest window, dropped first when full.
	const entries = new Map<string, { count: number; windowStart: number }>();

	const live = (key: string) => {
		const entry = entries.get(key);
		if (entry && now() - entry.windowStart >= windowMs) {
			entries.delete(key);
			return undefined;
		}
		return entry;
	};

	return {
		retryAfterMs(keys) {
			let wait = 0;
			for (const key of keys) {
				const entry = live(key);
				if (entry && entry.count >= maxFailures) wait = Math.max(wait, entry.windowStart + windowMs - now());
			}
			return wait;
		},
		fail(keys) {
			for (const key of keys) {
				const entry = live(key);
				if (entry) entry.count++;
				else {
					if (entries.size >= maxKeys) entries.delete(entries.keys().next().value as string);
					entries.set(key, { count: 1, windowStart: now() });
				}
			}
		},
		reset(keys) {
			for (const key of keys) entries.delete(key);
		}
	};
}
