import { EventEmitter } from 'node:events';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { RawData, WebSocket } from 'ws';
import type { AuthErrorCode } from '../auth/tokens.ts';
import type { Logger } from '../logger.ts';
import type { CollabRejection } from './hocuspocus.ts';
import { accessRevokedReason } from './revoke.ts';

/**
 * The standard y-websocket protocol beside Hocuspocus', through the same code path (docs/y-websocket.md,
 * rules DIAL-1…11): a `/yjs/<documentName>` socket is wrapped in an object that looks like a `ws`
 * socket speaking Hocuspocus to `attachCollabSocket` and `hocuspocus.handleConnection`. Frames are
 * translated at this edge only; auth, ACL, write guard, persistence and projection never know.
 */
export const yWebsocketDefaults = {
	/** DIAL-1: `/yjs/<documentName>`. */
	pathPrefix: '/yjs/',
	/** DIAL-3: the query parameter carrying the token (`params: { token }` of the provider). */
	tokenParameter: 'token'
} as const;

/** Message types shared by both protocols (y-websocket's `messageSync` … = Hocuspocus' `MessageType`). */
const type = {
	sync: 0,
	awareness: 1,
	auth: 2,
	queryAwareness: 3,
	syncReply: 4,
	stateless: 5,
	broadcastStateless: 6,
	close: 7,
	syncStatus: 8,
	ping: 9,
	pong: 10
} as const;

/** Hocuspocus' Auth sub-types (@hocuspocus/common `AuthMessageType`). */
const authType = { token: 0, permissionDenied: 1, authenticated: 2 } as const;

/** Close codes this dialect sends (DIAL-4, 6, 7, 8). */
export const yWebsocketCloseCodes = {
	protocolError: 1002,
	internalError: 1011,
	/** Hocuspocus' Reset Connection: transient for y-websocket (outside 4400–4499). */
	reset: 4205,
	unauthorized: 4401,
	forbidden: 4403
} as const;

/** Refusals about the document; every other reason `onAuthenticate` gives is an `AuthError` code. */
const documentRefusals: Record<Exclude<CollabRejection, AuthErrorCode>, number> = {
	forbidden: yWebsocketCloseCodes.forbidden,
	unknown_document: yWebsocketCloseCodes.forbidden,
	// The server could not decide (database down): retrying may succeed.
	access_error: yWebsocketCloseCodes.internalError
};

/** DIAL-6: the close code of a refused document, by the refusal's reason. */
export function refusalCloseCode(reason: string): number {
	return Object.hasOwn(documentRefusals, reason)
		? documentRefusals[reason as keyof typeof documentRefusals]
		: yWebsocketCloseCodes.unauthorized;
}

/** DIAL-7: the close code when Hocuspocus ends the socket's one document connection. */
export function documentCloseCode(reason: string): number {
	if (reason === accessRevokedReason || reason === 'Forbidden') return yWebsocketCloseCodes.forbidden;
	if (reason === 'Unauthorized') return yWebsocketCloseCodes.unauthorized;
	return yWebsocketCloseCodes.reset;
}

/** DIAL-8: y-websocket never reconnects after 4400–4499; only 4401/4403 mean that here. */
export function transientCloseCode(code: number | undefined): number | undefined {
	if (code === undefined || code < 4400 || code >= 4500) return code;
	if (code === yWebsocketCloseCodes.unauthorized || code === yWebsocketCloseCodes.forbidden) return code;
	return code + 100;
}

/** A `/yjs/` upgrade: which document, with which token. */
export interface YWebsocketRoute {
	documentName: string;
	token: string;
}

/**
 * DIAL-1: `undefined` when `url` is not a `/yjs/` path, an HTTP status when it is one but unusable,
 * else the route.
 */
export function yWebsocketRoute(url: URL): YWebsocketRoute | 400 | 404 | undefined {
	if (!url.pathname.startsWith(yWebsocketDefaults.pathPrefix)) return undefined;
	const raw = url.pathname.slice(yWebsocketDefaults.pathPrefix.length);
	if (raw === '') return 404;
	let documentName: string;
	try {
		documentName = decodeURIComponent(raw);
	} catch {
		return 400;
	}
	return { documentName, token: url.searchParams.get(yWebsocketDefaults.tokenParameter) ?? '' };
}

/** The Hocuspocus Auth(Token) frame for `route` (DIAL-3). */
export function authFrame(route: YWebsocketRoute): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarString(encoder, route.documentName);
	encoding.writeVarUint(encoder, type.auth);
	encoding.writeVarUint(encoder, authType.token);
	encoding.writeVarString(encoder, route.token);
	return encoding.toUint8Array(encoder);
}

/** What to do with one outbound Hocuspocus frame (DIAL-5…7). */
export type Outbound =
	| { kind: 'send'; frame: Uint8Array }
	| { kind: 'drop' }
	| { kind: 'token' }
	| { kind: 'close'; code: number; reason: string };

const drop: Outbound = { kind: 'drop' };

/** Translates one Hocuspocus frame (`varString(address) varUint(type) …`) into y-websocket terms. */
export function translateOutbound(frame: Uint8Array): Outbound {
	const decoder = decoding.createDecoder(frame);
	// Skip the address without decoding it: it is this socket's one document (the fan-out hot path).
	const addressBytes = decoding.readVarUint(decoder);
	decoder.pos += addressBytes;
	const start = decoder.pos;
	const messageType = decoding.readVarUint(decoder);
	switch (messageType) {
		case type.sync:
		case type.awareness:
		case type.queryAwareness:
			// A view, no copy: the broadcast buffer is shared by all connections of the document.
			return { kind: 'send', frame: frame.subarray(start) };
		case type.syncReply: {
			const out = frame.slice(start);
			out[0] = type.sync;
			return { kind: 'send', frame: out };
		}
		case type.auth: {
			const sub = decoding.readVarUint(decoder);
			if (sub === authType.token) return { kind: 'token' };
			if (sub === authType.permissionDenied) {
				const reason = decoding.readVarString(decoder);
				return { kind: 'close', code: refusalCloseCode(reason), reason };
			}
			return drop;
		}
		case type.close: {
			const reason = decoding.readVarString(decoder);
			return { kind: 'close', code: documentCloseCode(reason), reason };
		}
		default:
			return drop;
	}
}

/** Types a y-websocket client may send (DIAL-4). One byte each: varUint of a value below 128. */
const inboundTypes = new Set<number>([type.sync, type.awareness, type.queryAwareness]);

function toBytes(data: RawData): Uint8Array {
	if (Array.isArray(data)) return Buffer.concat(data);
	if (data instanceof ArrayBuffer) return new Uint8Array(data);
	return data;
}

/**
 * The wrapped socket. It implements the part of `ws.WebSocket` that `attachCollabSocket` and
 * Hocuspocus use (events `message`/`close`/`error`, `readyState`, `bufferedAmount`, `send`,
 * `close`, `terminate`), translating frames in both directions.
 */
class YWebsocketSocket extends EventEmitter {
	readonly #raw: WebSocket;
	readonly #route: YWebsocketRoute;
	readonly #prefix: Uint8Array;
	readonly #logger: Logger;
	#ending = false;

	constructor(raw: WebSocket, route: YWebsocketRoute, logger: Logger) {
		super();
		this.#raw = raw;
		this.#route = route;
		this.#logger = logger;
		const encoder = encoding.createEncoder();
		encoding.writeVarString(encoder, route.documentName);
		this.#prefix = encoding.toUint8Array(encoder);
		raw.on('message', (data, isBinary) => this.#inbound(data, isBinary));
		raw.on('close', (code, reason) => this.emit('close', code, reason));
		raw.on('error', (err) => this.emit('error', err));
	}

	get readyState(): number {
		return this.#raw.readyState;
	}

	get bufferedAmount(): number {
		return this.#raw.bufferedAmount;
	}

	/** DIAL-3: authenticates the socket's document; call once the shared listeners are attached. */
	start(): void {
		this.emit('message', Buffer.from(authFrame(this.#route)), true);
	}

	#inbound(data: RawData, isBinary: boolean): void {
		if (this.#ending) return;
		// Text frames: the shared check closes them (1003).
		if (!isBinary) {
			this.emit('message', data, false);
			return;
		}
		const bytes = toBytes(data);
		const first = bytes[0];
		if (first === undefined || !inboundTypes.has(first)) {
			this.#logger.info(
				{ documentName: this.#route.documentName, messageType: first ?? null },
				'y-websocket socket closed: unsupported message type'
			);
			this.#end(yWebsocketCloseCodes.protocolError, 'unsupported message type');
			return;
		}
		const framed = Buffer.allocUnsafe(this.#prefix.length + bytes.length);
		framed.set(this.#prefix, 0);
		framed.set(bytes, this.#prefix.length);
		this.emit('message', framed, true);
	}

	send(data: Uint8Array, ...rest: unknown[]): void {
		const cb = rest.find((arg): arg is (err?: Error) => void => typeof arg === 'function');
		const out = translateOutbound(data);
		if (out.kind === 'send') {
			this.#raw.send(out.frame, cb);
			return;
		}
		// Nothing is written for the others: the caller's callback must still run (outbound.ts settles on it).
		cb?.();
		if (out.kind === 'token') this.start();
		else if (out.kind === 'close') this.#end(out.code, out.reason);
	}

	close(code?: number, reason?: string): void {
		this.#end(transientCloseCode(code), reason);
	}

	terminate(): void {
		this.#ending = true;
		this.#raw.terminate();
	}

	#end(code: number | undefined, reason: string | undefined): void {
		this.#ending = true;
		this.#raw.close(code, reason);
	}
}

/**
 * Wraps an upgraded `/yjs/` socket (DIAL-2). Hand `socket` to `attachCollabSocket` like a `/collab`
 * socket, then call `start()`.
 */
export function wrapYWebsocket(
	raw: WebSocket,
	route: YWebsocketRoute,
	logger: Logger
): { socket: WebSocket; start(): void } {
	const socket = new YWebsocketSocket(raw, route, logger);
	// The shared code types its socket as `ws.WebSocket`; this object has every member it uses.
	return { socket: socket as unknown as WebSocket, start: () => socket.start() };
}
