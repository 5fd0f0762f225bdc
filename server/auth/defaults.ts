/** Tunables of the auth subsystem. Units are in the names. */
export const authDefaults = {
	/** Lifetime of a login token: one working day, so a crew logs in once per shift. */
	tokenTtlMs: 12 * 60 * 60 * 1000,
	/** bcrypt cost factor: ~50–100 ms per hash on a small server; slow enough to blunt guessing. */
	bcryptCost: 10,
	/** Shortest password `users.ts` accepts. */
	minPasswordLength: 8,
	/** bcrypt only reads the first 72 bytes; longer passwords would be silently truncated. */
	maxPasswordBytes: 72,
	/** Bytes of randomness in a generated token signing key. */
	signingKeyBytes: 32,
	/** `server_secrets.name` of the generated token signing key. */
	signingKeySecretName: 'token_signing_key',
	/** Shortest `AUTH_SECRET` accepted from the environment (HMAC-SHA256 wants ≥ 32 bytes). */
	minAuthSecretLength: 32,
	/** Failed logins allowed per account (email) within `loginWindowMs` before 429. */
	maxFailedLoginsPerWindow: 10,
	/** Window of the failed-login limit. */
	loginWindowMs: 15 * 60 * 1000,
	/** Most keys the failed-login limiter tracks; the oldest are dropped first (bounded memory). */
	loginLimiterMaxKeys: 100_000
} as const;
