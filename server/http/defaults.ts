/** Tunables of the HTTP layer. Units are in the names. */
export const httpDefaults = {
	/** Largest request body accepted (after decompression too); the sync API's documented limit. */
	maxBodyBytes: 5 * 1024 * 1024,
	/** How long `/healthz` waits for `SELECT 1` before calling the database down. */
	healthTimeoutMs: 2_000,
	/** Node's whole-request deadline; bounds slow-loris uploads. */
	requestTimeoutMs: 60_000,
	/** Node's deadline for receiving request headers. */
	headersTimeoutMs: 20_000,
	/** Idle keep-alive sockets are closed after this; above typical proxy idle timeouts is wrong, below is fine. */
	keepAliveTimeoutMs: 5_000,
	/** After a rejected upload (413, 415) keep draining at most this long before dropping the socket. */
	rejectedBodyDrainMs: 2_000
} as const;
