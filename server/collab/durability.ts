/**
 * The durability acknowledgement, shared by server and browser: keep this module isomorphic (yjs
 * only, no Node APIs). The server sends it as a Hocuspocus stateless message after updates are
 * committed to the database (docs/architecture.md "Durability": "durable on the server" as distinct from "received").
 *
 * Wire format: JSON `{"type":"khs:durable","stateVector":"<base64 of Y.encodeStateVector>"}` where
 * the state vector is of the state that is durable. A client's own edits are durable once that
 * vector covers its clientID's clock.
 *
 * Limitation: Yjs deletions do not advance a client's clock, so a delete-only transaction is not
 * tracked by the vector. Our CRDT types (crdt/) always write an entry along with any delete
 * (registers, tombstones), so every user edit advances the clock.
 */
import * as Y from 'yjs';

/** The `type` of the durability acknowledgement message. */
export const durableMessageType = 'khs:durable';

/** The acknowledgement as sent. */
export interface DurableAck {
	type: typeof durableMessageType;
	/** base64 of `Y.encodeStateVector` of the durable state. */
	stateVector: string;
}

function toBase64(bytes: Uint8Array): string {
	let binary = '';
	for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i] as number);
	return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
	const binary = atob(text);
	const bytes = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
	return bytes;
}

/** The stateless payload announcing `stateVector` (a `Y.encodeStateVector`) as durable. */
export function encodeDurableAck(stateVector: Uint8Array): string {
	const ack: DurableAck = { type: durableMessageType, stateVector: toBase64(stateVector) };
	return JSON.stringify(ack);
}

/**
 * The durable state vector in a stateless payload, or `null` when the payload is something else
 * (other stateless messages share the channel) or malformed.
 */
export function parseDurableAck(payload: string): Map<number, number> | null {
	try {
		const parsed = JSON.parse(payload) as Partial<DurableAck> | null;
		if (parsed?.type !== durableMessageType || typeof parsed.stateVector !== 'string') return null;
		return Y.decodeStateVector(fromBase64(parsed.stateVector));
	} catch {
		return null;
	}
}

/**
 * True when every edit `clientId` (default: this doc's own client) has made in `localDoc` is inside
 * the durable state. `durable` is a parsed ack, the ack payload, or a base64 state vector.
 */
export function isDurable(
	localDoc: Y.Doc,
	durable: Map<number, number> | string,
	clientId: number = localDoc.clientID
): boolean {
	const vector = typeof durable === 'string' ? decodeVector(durable) : durable;
	if (!vector) return false;
	return (vector.get(clientId) ?? 0) >= Y.getState(localDoc.store, clientId);
}

function decodeVector(text: string): Map<number, number> | null {
	if (text.trimStart().startsWith('{')) return parseDurableAck(text);
	try {
		return Y.decodeStateVector(fromBase64(text));
	} catch {
		return null;
	}
}
