import { authDefaults } from './defaults.ts';

/**
 * Slows password guessing without letting anyone lock another person out (docs/server-rules.md
 * "Login"):
 *
 * - LOGIN-1, per email + address: the first `pairFreeFailures` failures are free, then each
 *   failure doubles the wait before that pair may try again (up to `pairMaxDelayMs`). Only the
 *   guessing address is held back; the same account from any other address is not.
 * - LOGIN-2, per email over all addresses: past `emailFreeFailures` failures, an address that has
 *   itself failed for that email also waits a doubling delay, capped low (`emailMaxDelayMs`) and
 *   counted from that address's OWN last failure, so a distributed guesser is slowed while a
 *   person who mistyped waits seconds, whatever anyone else does. An address that has not failed
 *   for the email is never delayed by it: the right password from a new address gets in at once.
 * - LOGIN-3, per address over all emails: a token bucket of failures (`addressFailureBurst`,
 *   refilled at `addressFailuresPerMinute`), so one address cannot spray guesses over many accounts.
 *
 * In memory, per instance: an attacker spreading over instances gets each instance's allowance.
 */
export interface LoginAttempt {
	/** Normalized (trimmed, lower-case) email. */
	email: string;
	/** The remote address the attempt came from. */
	address: string;
}

export interface LoginLimiter {
	/** Milliseconds until this attempt may be made, or 0 when it may be made now. */
	retryAfterMs(attempt: LoginAttempt): number;
	/** Records one failed attempt. */
	fail(attempt: LoginAttempt): void;
	/** A successful login: forgets the pair's failures (the email's and the address's stay). */
	succeed(attempt: LoginAttempt): void;
}

export interface LoginLimiterSettings {
	pairFreeFailures: number;
	pairBaseDelayMs: number;
	pairMaxDelayMs: number;
	emailFreeFailures: number;
	emailBaseDelayMs: number;
	emailMaxDelayMs: number;
	addressFailureBurst: number;
	addressFailuresPerMinute: number;
	loginForgetAfterMs: number;
	loginLimiterMaxKeys: number;
}

interface Failures {
	count: number;
	lastMs: number;
}

interface Bucket {
	tokens: number;
	updatedMs: number;
}

/** `base·2^(n−free)` once `n` passes `free`, capped; 0 before. */
function doublingDelay(failures: number, free: number, baseMs: number, maxMs: number): number {
	if (failures < free) return 0;
	return Math.min(maxMs, baseMs * 2 ** Math.min(30, failures - free));
}

/** A Map used as a bounded, least-recently-updated-first table. */
class Table<V> {
	private readonly map = new Map<string, V>();
	constructor(private readonly maxKeys: number) {}
	get(key: string): V | undefined {
		return this.map.get(key);
	}
	set(key: string, value: V): void {
		this.map.delete(key);
		if (this.map.size >= this.maxKeys) this.map.delete(this.map.keys().next().value as string);
		this.map.set(key, value);
	}
	delete(key: string): void {
		this.map.delete(key);
	}
}

export function createLoginLimiter(
	options: Partial<LoginLimiterSettings> & { now?: () => number } = {}
): LoginLimiter {
	const s: LoginLimiterSettings = { ...authDefaults, ...options };
	const now = options.now ?? Date.now;
	const pairs = new Table<Failures>(s.loginLimiterMaxKeys);
	const emails = new Table<Failures>(s.loginLimiterMaxKeys);
	const addresses = new Table<Bucket>(s.loginLimiterMaxKeys);
	const refillPerMs = s.addressFailuresPerMinute / 60_000;
	// A NUL cannot occur in a normalized email, so the pair key is unambiguous.
	const pairKey = (a: LoginAttempt) => `${a.email}\u0000${a.address}`;

	const live = (table: Table<Failures>, key: string, t: number): Failures | undefined => {
		const entry = table.get(key);
		if (entry && t - entry.lastMs >= s.loginForgetAfterMs) {
			table.delete(key);
			return undefined;
		}
		return entry;
	};
	const bucket = (address: string, t: number): Bucket => {
		const b = addresses.get(address);
		if (!b) return { tokens: s.addressFailureBurst, updatedMs: t };
		return {
			tokens: Math.min(s.addressFailureBurst, b.tokens + (t - b.updatedMs) * refillPerMs),
			updatedMs: t
		};
	};

	return {
		retryAfterMs(attempt) {
			const t = now();
			let wait = 0;
			const b = bucket(attempt.address, t);
			if (b.tokens < 1) wait = Math.ceil((1 - b.tokens) / refillPerMs);
			const pair = live(pairs, pairKey(attempt), t);
			if (pair) {
				const email = live(emails, attempt.email, t);
				const delay = Math.max(
					doublingDelay(pair.count, s.pairFreeFailures, s.pairBaseDelayMs, s.pairMaxDelayMs),
					doublingDelay(email?.count ?? 0, s.emailFreeFailures, s.emailBaseDelayMs, s.emailMaxDelayMs)
				);
				wait = Math.max(wait, pair.lastMs + delay - t);
			}
			return Math.max(0, wait);
		},
		fail(attempt) {
			const t = now();
			const key = pairKey(attempt);
			const pair = live(pairs, key, t);
			pairs.set(key, { count: (pair?.count ?? 0) + 1, lastMs: t });
			const email = live(emails, attempt.email, t);
			emails.set(attempt.email, { count: (email?.count ?? 0) + 1, lastMs: t });
			const b = bucket(attempt.address, t);
			addresses.set(attempt.address, { tokens: b.tokens - 1, updatedMs: t });
		},
		succeed(attempt) {
			pairs.delete(pairKey(attempt));
		}
	};
}
