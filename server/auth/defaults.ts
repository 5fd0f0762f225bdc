/** Tunables of the auth subsystem. Units are in the names. */
export const authDefaults = {
	/** Lifetime of a login token: one working day, so a crew logs in once per shift. */
	tokenTtlMs: 12 * 60 * 60 * 1000,
	/**
	 * PBKDF2-HMAC-SHA256 iterations per password hash (passwords.ts): OWASP's figure for it, ~90 ms
	 * of CPU per hash on this project's 2-core bench machine; slow enough to blunt guessing.
	 */
	passwordIterations: 600_000,
	/** Shortest password `users.ts` accepts. */
	minPasswordLength: 8,
	/**
	 * Longest password in UTF-8 bytes: bcrypt, which hashed passwords before, read only the first 72
	 * and silently ignored the rest; the rule stays so every scheme accepts the same passwords.
	 */
	maxPasswordBytes: 72,
	/** Bytes of randomness in a generated token signing key. */
	signingKeyBytes: 32,
	/** `server_secrets.name` of the generated token signing key. */
	signingKeySecretName: 'token_signing_key',
	/** Shortest `AUTH_SECRET` accepted from the environment (HMAC-SHA256 wants ≥ 32 bytes). */
	minAuthSecretLength: 32,
	/**
	 * LOGIN-1 (docs/server-rules.md "Login"): failed logins of one email from one address that cost
	 * nothing; each further one doubles the wait before that pair may try again.
	 */
	pairFreeFailures: 3,
	/** LOGIN-1: the first wait after the free failures. */
	pairBaseDelayMs: 1_000,
	/** LOGIN-1: the longest wait of one email+address pair (it only ever blocks that pair). */
	pairMaxDelayMs: 5 * 60 * 1000,
	/** LOGIN-2: failures of one email, from all addresses, before they slow every failing address. */
	emailFreeFailures: 10,
	/** LOGIN-2: the first per-email wait after those. */
	emailBaseDelayMs: 500,
	/**
	 * LOGIN-2: the longest wait anyone else's failures can impose on an address after its OWN last
	 * failure; an address without failures for the email is never delayed by them (no lockout).
	 */
	emailMaxDelayMs: 10_000,
	/** LOGIN-3: failed logins one address may make in a burst, over all emails. */
	addressFailureBurst: 60,
	/** LOGIN-3: how fast an address earns failed logins back (per minute) once its burst is spent. */
	addressFailuresPerMinute: 30,
	/** A limiter entry with no failure for this long is forgotten. */
	loginForgetAfterMs: 15 * 60 * 1000,
	/** Most keys each limiter table tracks; the least recently failed are dropped first (bounded memory). */
	loginLimiterMaxKeys: 100_000,
	/** LOGIN-4: logins (user lookup + password hash) running at once; each hash is ~90 ms of a core. */
	loginMaxConcurrent: 2,
	/** LOGIN-4: logins waiting for a slot; beyond it 429 with Retry-After at once. */
	loginMaxQueued: 64,
	/** LOGIN-4: longest a login waits for a slot before it is answered 429. */
	loginMaxWaitMs: 5_000,
	/** SES-4: how long a token's database state is cached (the revocation bus invalidates sooner). */
	sessionCacheTtlMs: 5_000,
	/** SES-4: most token states cached. */
	sessionCacheMaxEntries: 50_000
} as const;
