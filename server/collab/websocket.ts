import type { IncomingMessage } from 'node:http';
import type { Hocuspocus } from '@hocuspocus/server';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import { readFrame } from './frames.ts';
import { type CollabLimits, messageBudget } from './limits.ts';

/** Close codes we send ourselves (RFC 6455 §7.4.1). */
export const closeCodes = {
	goingAway: 1001,
	unsupportedData: 1003,
	protocolError: 1002,
	policyViolation: 1008
} as const;

/** A live `/collab` socket as `server/app.ts` tracks it, for shutdown. */
export interface CollabSocket {
	ws: WebSocket;
	/** Ends the socket and tells Hocuspocus now, without waiting for the client's close handshake. */
	shutdown(code: number, reason: string): void;
}

/**
 * Hocuspocus 4 takes a Fetch `Request` (headers, URL parameters for hooks); build one from the
 * upgrade request. Only the URL and headers matter; there is no body on an upgrade.
 */
export function toFetchRequest(req: IncomingMessage): Request {
	const headers = new Headers();
	for (const [key, value] of Object.entries(req.headers)) {
		if (value === undefined) continue;
		for (const v of Array.isArray(value) ? value : [value]) {
			try {
				headers.append(key, v);
			} catch {
				// A header value the Fetch API rejects; hooks will not miss it.
			}
		}
	}
	let url: URL;
	try {
		url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
	} catch {
		url = new URL(req.url ?? '/', 'http://localhost');
	}
	return new Request(url, { headers });
}

function toBytes(data: RawData): Uint8Array {
	if (Array.isArray(data)) return Buffer.concat(data);
	if (data instanceof ArrayBuffer) return new Uint8Array(data);
	return data;
}

/**
 * Wires one upgraded `ws` socket to Hocuspocus the way its own `Server` does through crossws:
 * `handleConnection(ws, request)`, then every binary message to `handleMessage` and the close to
 * `handleClose`. Adds what `Server` leaves out: malformed or text frames close only this socket
 * (1002/1003) before Hocuspocus sees them, and socket errors are logged instead of crashing.
 */
export function attachCollabSocket(
	hocuspocus: Hocuspocus,
	ws: WebSocket,
	req: IncomingMessage,
	logger: Logger,
	limits: Pick<CollabLimits, 'maxDocumentsPerSocket' | 'messagesPerSecond' | 'messageBurst'>,
	onGone: () => void
): CollabSocket {
	metrics.websocketConnections.inc();
	const connection = hocuspocus.handleConnection(ws, toFetchRequest(req));
	let closed = false;
	const finish = (code: number, reason: string) => {
		if (closed) return;
		closed = true;
		metrics.websocketConnections.dec();
		connection.handleClose({ code, reason });
		onGone();
	};
	const reject = (code: number, reason: string) => {
		logger.info({ code, reason, remote: req.socket.remoteAddress }, 'collab socket closed');
		ws.close(code, reason);
		finish(code, reason);
	};

	const budget = messageBudget(limits.messagesPerSecond, limits.messageBurst);
	const documents = new Set<string>();
	ws.on('message', (data, isBinary) => {
		if (closed) return;
		if (!isBinary) return reject(closeCodes.unsupportedData, 'binary frames only');
		if (!budget.take()) return reject(closeCodes.policyViolation, 'too many messages');
		const bytes = toBytes(data);
		const name = readFrame(bytes);
		if (name === null) return reject(closeCodes.protocolError, 'malformed frame');
		if (name === undefined) return;
		if (!documents.has(name)) {
			if (documents.size >= limits.maxDocumentsPerSocket) {
				return reject(closeCodes.policyViolation, 'too many documents on one connection');
			}
			documents.add(name);
		}
		connection.handleMessage(bytes);
	});
	ws.on('close', (code, reason) => finish(code, reason.toString()));
	// `ws` emits 'error' for protocol violations (oversized message, bad opcode) and then closes the
	// socket itself; without a listener the error would be thrown and take the process down.
	ws.on('error', (err) =>
		logger.info({ err: err.message, remote: req.socket.remoteAddress }, 'collab socket error')
	);

	return {
		ws,
		shutdown(code, reason) {
			ws.close(code, reason);
			finish(code, reason);
		}
	};
}
