import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Extension, Hocuspocus } from '@hocuspocus/server';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Authenticator, createSessionAuthenticator } from './auth/authenticator.ts';
import { createLoginGate, type LoginGate } from './auth/login-gate.ts';
import { createLoginLimiter, type LoginLimiter } from './auth/login-limiter.ts';
import { loadSigningKey } from './auth/signing-key.ts';
import { createTokenSigner, type TokenSigner } from './auth/tokens.ts';
import { findUserById } from './auth/users.ts';
import {
	assignedJobIdsFromDb,
	createDefaultAccess,
	customerIdsOfJobsFromDb,
	type DocumentAccess
} from './collab/access.ts';
import { type CollabContext, type CollabOptions, createHocuspocus } from './collab/hocuspocus.ts';
import { type CollabLimits, collabLimitDefaults, SocketCounter } from './collab/limits.ts';
import { createLocalRevocationBus, type RevocationBus } from './collab/revocation-bus.ts';
import { createRevocationHandler, sessionEndedBy } from './collab/revoke.ts';
import { attachCollabSocket, type CollabSocket, closeCodes } from './collab/websocket.ts';
import { wrapYWebsocket, type YWebsocketRoute, yWebsocketRoute } from './collab/y-websocket-dialect.ts';
import type { Db } from './db/port.ts';
import { serverDefaults } from './defaults.ts';
import { httpDefaults } from './http/defaults.ts';
import { sendError, sendText } from './http/respond.ts';
import { Router } from './http/router.ts';
import { mountAuthRoutes } from './http/routes-auth.ts';
import { mountOpsRoutes } from './http/routes-ops.ts';
import { mountUserAdminRoutes } from './http/routes-users.ts';
import { SessionStreams } from './http/session-streams.ts';
import { type Logger, silentLogger } from './logger.ts';
import { metrics } from './metrics.ts';

/** A Node/Connect-style handler, the shape of adapter-node's `build/handler.js` export. */
export type PageHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** What route modules get to build their handlers (sync API, etc.). */
export interface AppServices {
	db: Db;
	logger: Logger;
	tokens: TokenSigner;
	authenticate: Authenticator;
	hocuspocus: Hocuspocus<CollabContext>;
	/** The document ACL the websocket decides with (also re-checked when access is revoked). */
	access: DocumentAccess;
	/** Where access changes are published so every instance closes what they end (SES-5). */
	revocations: RevocationBus;
	/** Open event streams by user: an ended session ends them (SES-5). */
	streams: SessionStreams;
}

export interface AppOptions {
	db: Db;
	logger?: Logger;
	/** Token signer; default: one keyed by `authSecret`, else by the key stored in `server_secrets`. */
	tokens?: TokenSigner;
	/** `AUTH_SECRET`: overrides the stored signing key (must be ≥ 32 characters). */
	authSecret?: string;
	/** Document ACL; default: `createDefaultAccess` over `job_assignments` and the `jobs` projection. */
	access?: DocumentAccess;
	/** Persistence, validation, Redis… extensions, run after authentication. */
	hocuspocusExtensions?: Extension[];
	/** Overrides of Hocuspocus settings (debounce, timeout…). */
	hocuspocusConfig?: CollabOptions['hocuspocus'];
	/** More routes (e.g. `/api/sync/*`), mounted after the built-in ones. */
	routes?: Array<(router: Router, services: AppServices) => void>;
	/** Failed-login limiter; default: in memory, LOGIN-1…3 with `authDefaults`. */
	loginLimiter?: LoginLimiter;
	/** Login concurrency limit; default LOGIN-4 with `authDefaults`. */
	loginGate?: LoginGate;
	/** Revocation bus (SES-5); default in-process. The caller closes one it passes. */
	revocations?: RevocationBus;
	/** SvelteKit's handler; absent → pages answer 404 (tests, API-only deployments). */
	pages?: PageHandler | null;
	maxBodyBytes?: number;
	/** `METRICS_TOKEN`: the bearer `/metrics` requires; unset → `/metrics` answers 404 (routes-ops.ts). */
	metricsToken?: string | undefined;
	/** Largest websocket frame read; default `collabLimits.maxUpdateBytes` + 64 KiB (SOCK-9). */
	maxWebsocketMessageBytes?: number;
	/** Flood limits for `/collab`; see `collab/limits.ts`. */
	collabLimits?: Partial<CollabLimits>;
	shutdownTimeoutMs?: number;
}

export interface App extends AppServices {
	server: Server;
	router: Router;
	/** Listens on `host` (default 127.0.0.1); port 0 picks a free port. Resolves to the bound port. */
	listen(port?: number, host?: string): Promise<number>;
	/**
	 * Graceful stop: refuse new requests and upgrades, close every websocket (1001) so Hocuspocus
	 * stores and unloads its documents, wait for that (bounded), run `onDestroy` hooks, close HTTP.
	 * Does not close the database: the caller opened it.
	 */
	close(): Promise<void>;
}

/** Builds the one HTTP server: `/api/*`, `/healthz`, `/metrics`, the `/collab` websocket, pages. */
export async function createApp(options: AppOptions): Promise<App> {
	const { db } = options;
	const logger = options.logger ?? silentLogger();
	const tokens =
		options.tokens ?? createTokenSigner({ secret: await loadSigningKey(db, options.authSecret) });
	const sessions = createSessionAuthenticator({ db, tokens });
	const { authenticate } = sessions;
	const revocations = options.revocations ?? createLocalRevocationBus(logger.child({ subsystem: 'revoke' }));
	const access =
		options.access ??
		createDefaultAccess({
			assignedJobIds: assignedJobIdsFromDb(db),
			customerIdsOfJobs: customerIdsOfJobsFromDb(db)
		});

	// Resolved whenever a document unloads, so shutdown can wait for "all stored" without polling.
	let unloadWaiters: Array<() => void> = [];
	const unloadSignal: Extension = {
		extensionName: 'khs-unload-signal',
		async afterUnloadDocument() {
			const waiters = unloadWaiters;
			unloadWaiters = [];
			for (const wake of waiters) wake();
		}
	};
	const hocuspocus = createHocuspocus({
		authenticate,
		access,
		logger: logger.child({ subsystem: 'collab' }),
		extensions: [...(options.hocuspocusExtensions ?? []), unloadSignal],
		hocuspocus: options.hocuspocusConfig
	});

	const router = new Router({ authenticate, logger, maxBodyBytes: options.maxBodyBytes });
	let draining = false;
	const streams = new SessionStreams();
	const services: AppServices = {
		db,
		logger,
		tokens,
		authenticate,
		hocuspocus,
		access,
		revocations,
		streams
	};
	// SES-5: every instance closes or re-checks what a published access change ends: websockets,
	// and event streams resting on an ended session.
	const revokeConnections = createRevocationHandler({
		hocuspocus,
		access,
		invalidateUser: sessions.invalidateUser,
		loadUser: (userId) => findUserById(db, userId),
		logger: logger.child({ subsystem: 'revoke' })
	});
	const stopRevoking = revocations.subscribe((message) => {
		const ended = sessionEndedBy(message);
		if (ended) streams.endWhere(ended);
		return revokeConnections(message);
	});
	mountOpsRoutes(router, { db, isDraining: () => draining, metricsToken: options.metricsToken });
	mountAuthRoutes(router, {
		db,
		tokens,
		limiter: options.loginLimiter ?? createLoginLimiter(),
		gate: options.loginGate ?? createLoginGate(),
		revocations
	});
	mountUserAdminRoutes(router, { db, revocations });
	for (const mount of options.routes ?? []) mount(router, services);

	const pages = options.pages ?? null;
	const server = createServer(async (req, res) => {
		let url: URL;
		try {
			url = new URL(req.url ?? '/', 'http://localhost');
		} catch {
			return sendError(res, 400, 'invalid_request', 'malformed request URL');
		}
		try {
			if (await router.handle(req, res, url)) return;
			if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
				return sendError(res, 404, 'not_found', `no API route ${url.pathname}`);
			}
			if (!pages) return sendText(res, 404, 'Not found');
			pages(req, res, () => sendText(res, 404, 'Not found'));
		} catch (err) {
			logger.error({ err }, 'unhandled request error');
			sendError(res, 500, 'internal', 'internal server error');
		}
	});
	server.requestTimeout = httpDefaults.requestTimeoutMs;
	server.headersTimeout = httpDefaults.headersTimeoutMs;
	server.keepAliveTimeout = httpDefaults.keepAliveTimeoutMs;

	const limits: CollabLimits = { ...collabLimitDefaults, ...options.collabLimits };
	const wss = new WebSocketServer({
		noServer: true,
		maxPayload:
			options.maxWebsocketMessageBytes ?? limits.maxUpdateBytes + serverDefaults.websocketFrameHeadroomBytes
	});
	const sockets = new Set<CollabSocket>();
	const socketCounter = new SocketCounter(limits);
	// One child for every socket: a pino child per socket was kept as long as the socket.
	const collabLogger = logger.child({ subsystem: 'collab' });
	/**
	 * An upgraded socket, registered until it is gone. A function of its own, not a closure of the
	 * upgrade handler: anything made there that the socket keeps (its `onGone`, a listener) would keep
	 * the handler's scope — the upgrade request, its headers and head buffer — as long as the socket.
	 */
	function openCollabSocket(raw: WebSocket, req: IncomingMessage, yjs: YWebsocketRoute | undefined): void {
		const address = req.socket.remoteAddress ?? '';
		const dialect = yjs ? wrapYWebsocket(raw, yjs, collabLogger) : undefined;
		socketCounter.opened(address);
		const entry = attachCollabSocket(hocuspocus, dialect?.socket ?? raw, req, collabLogger, limits, () => {
			sockets.delete(entry);
			socketCounter.closed(address);
		});
		sockets.add(entry);
		dialect?.start();
	}
	server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
		socket.on('error', destroyOnError);
		let url: URL;
		try {
			url = new URL(req.url ?? '/', 'http://localhost');
		} catch {
			return refuseUpgrade(socket, 400, 'Bad Request');
		}
		// The y-websocket dialect (docs/y-websocket.md DIAL-1/2): same checks, same socket path below.
		const yjs = yWebsocketRoute(url);
		if (yjs === 400) return refuseUpgrade(socket, 400, 'Bad Request');
		if (yjs === 404 || (!yjs && url.pathname !== serverDefaults.collabPath)) {
			return refuseUpgrade(socket, 404, 'Not Found');
		}
		if (draining) return refuseUpgrade(socket, 503, 'Service Unavailable');
		const address = req.socket.remoteAddress ?? '';
		const refusal = socketCounter.refusal(address);
		if (refusal) {
			metrics.collabRejections.inc({ reason: refusal.status === 429 ? 'address_limit' : 'socket_limit' });
			return refuseUpgrade(socket, refusal.status, refusal.reason);
		}
		hocuspocus
			.hooks('onUpgrade', { request: req, socket, head, instance: hocuspocus })
			.then(() => {
				wss.handleUpgrade(req, socket, head, (raw) => openCollabSocket(raw, req, yjs));
			})
			.catch((err: unknown) => {
				// An extension vetoed the upgrade (Hocuspocus convention: reject, optionally with an error).
				if (err) logger.warn({ err }, 'upgrade refused by extension');
				refuseUpgrade(socket, 403, 'Forbidden');
			});
	});

	let closing: Promise<void> | undefined;
	async function shutdown(): Promise<void> {
		draining = true;
		stopRevoking();
		const timeoutMs = options.shutdownTimeoutMs ?? serverDefaults.shutdownTimeoutMs;
		const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
		server.closeIdleConnections();

		for (const socket of [...sockets]) socket.shutdown(closeCodes.goingAway, 'server shutting down');
		hocuspocus.closeConnections();
		hocuspocus.flushPendingStores();
		const deadline = Date.now() + timeoutMs;
		while (hocuspocus.getDocumentsCount() > 0 && Date.now() < deadline) {
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
				unloadWaiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
		if (hocuspocus.getDocumentsCount() > 0) {
			logger.error(
				{ documents: hocuspocus.getDocumentsCount() },
				'shutdown: documents still loaded at deadline'
			);
		}
		await hocuspocus.hooks('onDestroy', { instance: hocuspocus });
		wss.close();
		// Keep-alive HTTP requests still in flight get the rest of the deadline, then are cut.
		const cut = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
		await stopped;
		clearTimeout(cut);
	}

	return {
		...services,
		server,
		router,
		listen(port = 0, host = serverDefaults.listenHost) {
			return new Promise<number>((resolve, reject) => {
				server.once('error', reject);
				server.listen(port, host, () => {
					server.off('error', reject);
					resolve((server.address() as AddressInfo).port);
				});
			});
		},
		close() {
			closing ??= shutdown();
			return closing;
		}
	};
}

/** The 'error' listener of every upgrading socket (`this` is the socket): shared, it keeps nothing. */
function destroyOnError(this: Duplex): void {
	this.destroy();
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
	if (!socket.writable) return void socket.destroy();
	socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
