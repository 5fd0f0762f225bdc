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
	/**
	 * After answering a request whose body was not read (413, 415, 401…), keep discarding its body at
	 * most this long before dropping the socket (HTTP-2: the client must read the answer, not a reset).
	 */
	rejectedBodyDrainMs: 10_000,
	/** …and at most this many bytes of it. */
	rejectedBodyDrainBytes: 64 * 1024 * 1024,
	/** Responses smaller than this are sent uncompressed (compression would not pay). */
	compressMinBytes: 1024,
	/**
	 * Brotli quality of compressed responses. On a 5,000-change pull page (2.1 MB of JSON, 2026-12-02)
	 * quality 1 took 8–9 ms of CPU for 523 KB, quality 5 took 50–54 ms for 519 KB — the largest cost
	 * of a pull after its query; the default 11 is ~20× slower again for a few percent.
	 */
	brotliQuality: 1,
	/**
	 * Gzip level, for clients that accept gzip and not br (Node's `fetch` sends `gzip, deflate`). On
	 * a pull page of 5,000 changes (1.6 MB of JSON, 2026-12-03, median of 5) zlib's default level 6
	 * took 19.8 ms of CPU for 158 KB, level 1 8.6 ms for 176 KB (Brotli quality 1: 5.6 ms, 166 KB).
	 */
	gzipLevel: 1,
	/** Largest output buffer of one compression (compress.ts): a body up to it is one pool job. */
	compressChunkMaxBytes: 8 * 1024 * 1024,
	/** Server-sent events keep-alive comment interval (proxies drop idle streams). */
	sseHeartbeatMs: 25_000
} as const;
