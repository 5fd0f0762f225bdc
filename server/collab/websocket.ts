import type { IncomingMessage } from 'node:http';
import type { Hocuspocus } from '@hocuspocus/server';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import { DocumentSizes } from './document-size.ts';
import { type FrameHeader, isSync, readFrame, syncSteps } from './frames.ts';
import { type CollabLimits, MessageBudget } from './limits.ts';
import { guardOutbound } from './outbound.ts';
import { SyncRequests } from './sync-budget.ts';

/** Close codes we send ourselves (RFC 6455 §7.4.1). */
export const closeCodes = {
	goingAway: 1001,
	unsupportedData: 1003,
	protocolError: 1002,
	policyViolation: 1008,
	messageTooBig: 1009,
	tryAgainLater: 1013
} as const;

/**
 * Why a socket was closed by a socket-level rule (docs/socket-limits.md): the close reason the client
 * sees, the rule id, and the close code. Written once; tests and the bench import it.
 */
export const socketRules = {
	syncRequests: { rule: 'SOCK-1', code: closeCodes.policyViolation, reason: 'too many sync requests' },
	unsentBytes: { rule: 'SOCK-2', code: closeCodes.tryAgainLater, reason: 'too many unsent bytes' },
	updateSize: { rule: 'SOCK-3', code: closeCodes.messageTooBig, reason: 'update too large' },
	documentSize: { rule: 'SOCK-4', code: closeCodes.policyViolation, reason: 'document too large' },
	messageSize: { rule: 'SOCK-5', code: closeCodes.messageTooBig, reason: 'message too large' },
	messageRate: { rule: 'SOCK-6', code: closeCodes.policyViolation, reason: 'too many messages' },
	documents: {
		rule: 'SOCK-7',
		code: closeCodes.policyViolation,
		reason: 'too many documents on one connection'
	},
	byteRate: { rule: 'SOCK-8', code: closeCodes.policyViolation, reason: 'too many bytes' },
	textFrame: { rule: 'SOCK-9', code: closeCodes.unsupportedData, reason: 'binary frames only' },
	malformed: { rule: 'SOCK-9', code: closeCodes.protocolError, reason: 'malformed frame' }
} as const;

export type SocketRule = (typeof socketRules)[keyof typeof socketRules];

/** One per process: a document grows through every socket (SOCK-4). */
const documentSizesByLimit = new Map<number, DocumentSizes>();
function documentSizes(maxDocumentBytes: number): DocumentSizes {
	let sizes = documentSizesByLimit.get(maxDocumentBytes);
	if (!sizes) {
		sizes = new DocumentSizes(maxDocumentBytes);
		documentSizesByLimit.set(maxDocumentBytes, sizes);
	}
	return sizes;
}

/** `name\0session` → `name`, the key of `hocuspocus.documents`. */
function documentNameOf(address: string): string {
	const separator = address.indexOf('\0');
	return separator === -1 ? address : address.slice(0, separator);
}

/** A live `/collab` socket as `server/app.ts` tracks it, for shutdown. */
export interface CollabSocket {
	ws: WebSocket;
	/** Ends the socket and tells Hocuspocus now, without waiting for the client's close handshake. */
	shutdown(code: number, reason: string): void;
}

/**
 * What Hocuspocus reads of the `Request` it is handed: `url` (hooks' `requestParameters`) and
 * `headers` (hooks' `requestHeaders`), nothing else (@hocuspocus/server 4.7 `getParameters`,
 * `ClientConnection`). It keeps it for the socket's life.
 */
export interface UpgradeRequest {
	/**
	 * Path and query only (`/collab?deviceId=…`). Hocuspocus 4.7 parses it again on every update
	 * (`getParameters` in `handleDocumentUpdate`): by `new URL` when it has a scheme, by
	 * `URLSearchParams` on the part after `?` when not — the reconnect storm's profile had 3.9 % of
	 * the server's busy time in `new URL` there.
	 */
	url: string;
	headers: Headers;
}

/**
 * The upgrade request as Hocuspocus takes it: its URL and headers only. Not a Fetch `Request`: one of
 * those (with its parsed URL, AbortSignal and state) costs 780 B more per socket, kept as long as the
 * socket (heap after GC, 20,000 built, 2026-12-02).
 */
export function toUpgradeRequest(req: IncomingMessage): UpgradeRequest {
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
	// Parsed against a fixed base: the Host header plays no part in a path and a query.
	const url = new URL(req.url ?? '/', 'http://localhost');
	return { url: `${url.pathname}${url.search}`, headers };
}

function toBytes(data: RawData): Uint8Array {
	if (Array.isArray(data)) return Buffer.concat(data);
	if (data instanceof ArrayBuffer) return new Uint8Array(data);
	return data;
}

/**
 * Wires one upgraded `ws` socket to Hocuspocus the way its own `Server` does through crossws:
 * `handleConnection(ws, request)`, then every binary message to `handleMessage` and the close to
 * `handleClose`. Adds what `Server` leaves out, the socket-level rules of docs/socket-limits.md,
 * checked on each frame's envelope before Hocuspocus does any work: malformed or text frames
 * (SOCK-9), message and byte rates (SOCK-6, SOCK-8), sizes (SOCK-3…5), documents per socket
 * (SOCK-7), repeated sync step 1s (SOCK-1); and on the way out, the unsent-bytes cap (SOCK-2).
 * Each closes only this socket, with a log line naming the rule. Socket errors are logged instead of
 * crashing.
 */
export function attachCollabSocket(
	hocuspocus: Hocuspocus,
	ws: WebSocket,
	req: IncomingMessage,
	logger: Logger,
	limits: Omit<CollabLimits, 'maxSockets' | 'maxSocketsPerAddress'>,
	onGone: () => void
): CollabSocket {
	metrics.websocketConnections.inc();
	const remote = req.socket.remoteAddress;
	const requests = new SyncRequests(limits);
	let overflowCut: NodeJS.Timeout | undefined;
	const outbound = guardOutbound(ws, {
		maxUnsentBytes: limits.maxUnsentBytes,
		requests,
		onOverflow(unsentBytes, messageBytes) {
			const { rule, code, reason } = socketRules.unsentBytes;
			metrics.collabRejections.inc({ reason: rule });
			logger.warn(
				{ rule, code, reason, remote, unsentBytes, messageBytes, maxUnsentBytes: limits.maxUnsentBytes },
				'collab socket closed'
			);
			// The close frame queues behind the unsent bytes; a reader that does not read is cut after
			// the grace so its buffer is freed. Hocuspocus hears of it from the 'close' event.
			ws.close(code, reason);
			overflowCut = setTimeout(() => ws.terminate(), limits.unsentCloseGraceMs);
		}
	});
	// Hocuspocus reads only `url` and `headers` of its `Request` (UpgradeRequest).
	const connection = hocuspocus.handleConnection(outbound, toUpgradeRequest(req) as unknown as Request);
	let closed = false;
	const finish = (code: number, reason: string) => {
		if (closed) return;
		closed = true;
		clearTimeout(overflowCut);
		metrics.websocketConnections.dec();
		connection.handleClose({ code, reason });
		onGone();
	};
	const reject = ({ rule, code, reason }: SocketRule, detail: Record<string, unknown> = {}) => {
		metrics.collabRejections.inc({ reason: rule });
		logger.info({ rule, code, reason, remote, ...detail }, 'collab socket closed');
		ws.close(code, reason);
		finish(code, reason);
	};

	const messages = new MessageBudget(limits.messagesPerSecond, limits.messageBurst);
	const inboundBytes = new MessageBudget(limits.inboundBytesPerSecond, limits.inboundBytesBurst);
	const sizes = documentSizes(limits.maxDocumentBytes);
	const header: FrameHeader = { type: -1, subtype: -1 };
	const documents = new Set<string>();
	ws.on('message', (data, isBinary) => {
		if (closed) return;
		if (!isBinary) return reject(socketRules.textFrame);
		if (!messages.take()) return reject(socketRules.messageRate);
		const bytes = toBytes(data);
		const name = readFrame(bytes, header);
		if (name === null) return reject(socketRules.malformed);
		if (name === undefined) return;
		const isUpdate =
			isSync(header) && (header.subtype === syncSteps.step2 || header.subtype === syncSteps.update);
		if (isUpdate && bytes.byteLength > limits.maxUpdateBytes) {
			return reject(socketRules.updateSize, { bytes: bytes.byteLength, documentName: name });
		}
		if (!isUpdate && bytes.byteLength > limits.maxControlMessageBytes) {
			return reject(socketRules.messageSize, { bytes: bytes.byteLength, type: header.type });
		}
		if (!inboundBytes.take(bytes.byteLength)) return reject(socketRules.byteRate);
		if (!documents.has(name)) {
			if (documents.size >= limits.maxDocumentsPerSocket) return reject(socketRules.documents);
			documents.add(name);
		}
		if (isUpdate) {
			// A document still loading is measured at its next update (SOCK-4 in docs/socket-limits.md).
			const document = hocuspocus.documents.get(documentNameOf(name));
			const loaded = document && !document.isLoading ? document : undefined;
			if (!sizes.admit(loaded, bytes.byteLength)) {
				return reject(socketRules.documentSize, { documentName: name });
			}
		}
		if (isSync(header) && header.subtype === syncSteps.step1) {
			const verdict = requests.request(name);
			if (verdict === 'over_budget') return reject(socketRules.syncRequests, { documentName: name });
			// The reply in flight already carries what this one would (SOCK-1).
			if (verdict === 'coalesce') return;
		}
		connection.handleMessage(bytes);
	});
	ws.on('close', (code, reason) => finish(code, reason.toString()));
	// `ws` emits 'error' for protocol violations (oversized message, bad opcode) and then closes the
	// socket itself; without a listener the error would be thrown and take the process down.
	ws.on('error', (err) => logger.info({ err: err.message, remote }, 'collab socket error'));

	return {
		ws,
		shutdown(code, reason) {
			ws.close(code, reason);
			finish(code, reason);
		}
	};
}
