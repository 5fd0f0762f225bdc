// Hocuspocus' message types (server/src/types.ts MessageType): 0 Sync … 10 Pong.
const maxMessageType = 10;
const pongType = 10;
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
 */
export function readFrame(data: Uint8Array): string | undefined | null {
	// A bare Pong (reply to a connection-level Ping) has no document address.
	if (data.length === 1 && data[0] === pongType) return undefined;
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
	return name;
}

/** `readFrame` as a verdict. */
export function checkFrame(data: Uint8Array): FrameVerdict {
	const name = readFrame(data);
	return name === null ? 'malformed' : name === undefined ? 'ignore' : 'forward';
}
