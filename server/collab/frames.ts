/** Hocuspocus' message types (server/src/types.ts `MessageType`) that our checks tell apart. */
export const messageTypes = {
	sync: 0,
	auth: 2,
	syncReply: 4,
	close: 7,
	pong: 10
} as const;
const maxMessageType = 10;
const pongType = messageTypes.pong;

/** y-protocols' sync sub-types (`messageYjsSyncStep1` …), the varUint after a Sync type. */
export const syncSteps = { step1: 0, step2: 1, update: 2 } as const;

/** Hocuspocus' `AuthMessageType.PermissionDenied`: the answer that ends a document's queued messages. */
export const permissionDenied = 1;

/** Whether a frame read into `header` is a sync message (Sync or SyncReply type). */
export function isSync(header: FrameHeader): boolean {
	return header.type === messageTypes.sync || header.type === messageTypes.syncReply;
}

/**
 * What `readFrame` learned beyond the document name, written into a caller-owned object so the hot
 * path allocates nothing: the message type, and the varUint after it for Sync/SyncReply (the sync
 * step, `syncSteps`) and Auth messages (0 token, 1 permission denied, 2 authenticated); `subtype` is
 * -1 for any other message or a truncated one.
 */
export interface FrameHeader {
	type: number;
	subtype: number;
}

/** A scratch header for callers that only want the name. */
const ignoredHeader: FrameHeader = { type: -1, subtype: -1 };
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What to do with one inbound websocket frame before Hocuspocus sees it. */
export type FrameVerdict = 'forward' | 'ignore' | 'malformed';

/** Position after the last `readVarUint` (module scratch: no object per call on the hot path). */
let varUintNext = 0;

/** A varUint at `start` (its end in `varUintNext`), or -1 when truncated or over 35 bits. */
function readVarUint(data: Uint8Array, start: number): number {
	let value = 0;
	let shift = 0;
	for (let pos = start; pos < data.length && shift <= 28; pos++) {
		const byte = data[pos] as number;
		value += (byte & 0x7f) * 2 ** shift;
		if (byte < 0x80) {
			varUintNext = pos + 1;
			return value;
		}
		shift += 7;
	}
	return -1;
}

/**
 * Checks the envelope of a Hocuspocus frame: `varString(documentName) varUint(type) …`.
 * Hocuspocus' own decoder accepts many garbage frames (a short read yields a truncated name) and
 * queues them as unauthenticated documents until its timeout; checking the envelope lets us close
 * such a socket at once. Unknown-but-well-formed document names are forwarded, so the provider gets a
 * proper permission-denied from `onAuthenticate` instead of a reconnect loop.
 *
 * Returns the document name of a frame to forward, `undefined` for one to ignore (a bare Pong), and
 * `null` for a malformed one: one pass and one UTF-8 decode per frame (the websocket hot path).
 * `header` receives the message type and sync step (the socket limits in `websocket.ts` need them).
 * Outbound frames have the same envelope, so `websocket.ts` reads its own replies with it too.
 */
export function readFrame(data: Uint8Array, header: FrameHeader = ignoredHeader): string | undefined | null {
	header.type = -1;
	header.subtype = -1;
	// A bare Pong (reply to a connection-level Ping) has no document address.
	if (data.length === 1 && data[0] === pongType) {
		header.type = pongType;
		return undefined;
	}
	const length = readVarUint(data, 0);
	const start = varUintNext;
	if (length <= 0 || start + length > data.length) return null;
	let name: string;
	try {
		name = utf8.decode(data.subarray(start, start + length));
	} catch {
		return null;
	}
	const type = readVarUint(data, start + length);
	if (type < 0 || type > maxMessageType) return null;
	header.type = type;
	if (type === messageTypes.sync || type === messageTypes.syncReply || type === messageTypes.auth) {
		// -1 when missing: Hocuspocus then throws on the read and closes that document.
		header.subtype = readVarUint(data, varUintNext);
	}
	return name;
}

/** `readFrame` as a verdict. */
export function checkFrame(data: Uint8Array): FrameVerdict {
	const name = readFrame(data);
	return name === null ? 'malformed' : name === undefined ? 'ignore' : 'forward';
}
