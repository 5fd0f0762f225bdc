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
	 * How far a websocket frame may exceed the largest update (SOCK-3 `maxUpdateBytes`) before `ws`
	 * stops reading it and closes with 1009: room for the Hocuspocus envelope (document name, message
	 * type) only. The frame cap follows the update limit, so a socket cannot make the server buffer a
	 * 16 MiB frame only to refuse it as a 4 MiB update afterwards.
	 */
	websocketFrameHeadroomBytes: 64 * 1024,
	/** How long a graceful shutdown waits for documents to be stored and unloaded before giving up. */
	shutdownTimeoutMs: 15_000,
	/** PGlite data directory when `DATA_DIR` is unset. */
	dataDir: './data'
} as const;
