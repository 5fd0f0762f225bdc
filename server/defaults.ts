/** Tunables of the server process as a whole. Units are in the names. */
export const serverDefaults = {
	/** `PORT` when unset. */
	port: 3000,
	/** `HOST` when unset in production: every interface, as a container or VM expects. */
	productionHost: '0.0.0.0',
	/** Where `app.listen` binds when no host is given: loopback, so tests never expose a port. */
	listenHost: '127.0.0.1',
	/** The websocket endpoint the provider connects to. */
	collabPath: '/collab',
	/**
	 * Largest websocket message accepted; bigger ones close that socket with 1009. Generous because
	 * the first sync of a long-offline client carries all of its edits in one message.
	 */
	maxWebsocketMessageBytes: 16 * 1024 * 1024,
	/** How long a graceful shutdown waits for documents to be stored and unloaded before giving up. */
	shutdownTimeoutMs: 15_000,
	/** PGlite data directory when `DATA_DIR` is unset. */
	dataDir: './data'
} as const;
