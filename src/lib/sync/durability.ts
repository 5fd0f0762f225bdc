import * as Y from 'yjs';

/**
 * The server's durability acknowledgement (docs/architecture.md "Durability"): a stateless message
 * `{"type":"khs:durable","stateVector":"<base64 Y state vector>"}` sent after it durably stored
 * updates. A local edit is durable once that state vector covers the edit's (clientID, clock).
 * Mirrors `server/collab/durability.ts`'s `isDurable` so the browser does not import server code.
 */
export type StateVector = Map<number, number>;

export function decodeBase64StateVector(base64: string): StateVector {
	const binary = atob(base64);
	const bytes = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
	return Y.decodeStateVector(bytes);
}

export function encodeBase64StateVector(sv: Uint8Array): string {
	let binary = '';
	for (const byte of sv) binary += String.fromCharCode(byte);
	return btoa(binary);
}

/**
 * True when the server's state vector includes every item `clientId` created before `clock`
 * (Yjs clocks are "next clock": a client that wrote items 0..4 has state 5).
 */
export function covers(sv: StateVector, clientId: number, clock: number): boolean {
	return (sv.get(clientId) ?? 0) >= clock;
}

/** Everything this doc's own client wrote so far is in the server's durable state. */
export function isDurable(sv: StateVector, doc: Y.Doc): boolean {
	return covers(sv, doc.clientID, Y.getState(doc.store, doc.clientID));
}

export type ServerMessage =
	| { type: 'khs:durable'; stateVector: StateVector }
	| { type: 'khs:rejected'; field: string | null; message: string | null };

/** Parses one stateless payload; anything we do not understand is ignored, never thrown. */
export function parseServerMessage(payload: string): ServerMessage | null {
	let data: unknown;
	try {
		data = JSON.parse(payload);
	} catch {
		return null;
	}
	if (typeof data !== 'object' || data === null) return null;
	const m = data as Record<string, unknown>;
	if (m.type === 'khs:durable' && typeof m.stateVector === 'string') {
		try {
			return { type: 'khs:durable', stateVector: decodeBase64StateVector(m.stateVector) };
		} catch {
			return null;
		}
	}
	if (m.type === 'khs:rejected') {
		return {
			type: 'khs:rejected',
			field: typeof m.field === 'string' ? m.field : null,
			message: typeof m.message === 'string' ? m.message : null
		};
	}
	return null;
}
