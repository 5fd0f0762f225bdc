// Hocuspocus' message types (server/src/types.ts MessageType): 0 Sync … 10 Pong.
const maxMessageType = 10;
const pongType = 10;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What to do with one inbound websocket frame before Hocuspocus sees it. */
export type FrameVerdict = 'forward' | 'ignore' | 'malformed';

function readVarUint(data: Uint8Array, start: number): { value: number; next: number } | null {
	let value = 0;
	let shift = 0;
	for (let pos = start; pos < data.length && shift <= 28; pos++) {
		const byte = data[pos] as number;
		value += (byte & 0x7f) * 2 ** shift;
		if (byte < 0x80) return { value, next: pos + 1 };
		shift += 7;
	}
	return null;
}

/**
 * Checks the envelope of a Hocuspocus frame: `varString(documentName) varUint(type) …`.
 * Hocuspocus' own decoder accepts many garbage frames (a short read yields a truncated name) and
 * queues them as unauthenticated documents until its timeout; checking the envelope lets us close
 * such a socket at once. Unknown-but-well-formed document names are forwarded, so the provider gets a
 * proper permission-denied from `onAuthenticate` instead of a reconnect loop.
 */
export function checkFrame(data: Uint8Array): FrameVerdict {
	// A bare Pong (reply to a connection-level Ping) has no document address.
	if (data.length === 1 && data[0] === pongType) return 'ignore';
	const len = readVarUint(data, 0);
	if (!len || len.value === 0 || len.next + len.value > data.length) return 'malformed';
	try {
		utf8.decode(data.subarray(len.next, len.next + len.value));
	} catch {
		return 'malformed';
	}
	const type = readVarUint(data, len.next + len.value);
	if (!type || type.value > maxMessageType) return 'malformed';
	return 'forward';
}

/** The document a well-formed frame addresses (call after `checkFrame` said `forward`). */
export function frameDocumentName(data: Uint8Array): string | undefined {
	const len = readVarUint(data, 0);
	if (!len) return undefined;
	return new TextDecoder().decode(data.subarray(len.next, len.next + len.value));
}
