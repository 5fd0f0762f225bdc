/**
 * The collab websocket's stateless messages, as the server sends them and the browser (and the
 * tests' raw clients) read them: ONE definition for both sides (docs/architecture.md "Durability",
 * docs/server-rules.md "Write checks"). Isomorphic: yjs and web APIs only (`atob`/`btoa`), never a
 * Node module, so the browser bundle imports it as it is.
 *
 * - `khs:durable` — `{"type":"khs:durable","stateVector":"<base64 of Y.encodeStateVector>"}`, sent
 *   after updates are committed to the database ("durable on the server" as distinct from
 *   "received"). A client's own edits are durable once that vector covers its clientID's clock. On
 *   connect it is the document's whole durable vector; after a commit only the clients whose
 *   structs that connection sent (docs/server-rules.md ACK-1, ACK-2): a client missing from it is
 *   not durable yet as far as that message says.
 * - `khs:rejected` — one per field the server undid (WRITE-7), with a sentence for people.
 *
 * Limitation: Yjs deletions do not advance a client's clock, so a delete-only transaction is not
 * tracked by the vector. Our CRDT types (crdt/) always write an entry along with any delete
 * (registers, tombstones, the hidden touch: SPEC DUR-1), so every user edit advances the clock.
 */
import * as Y from 'yjs';

/** The `type` of the durability acknowledgement message. */
export const durableMessageType = 'khs:durable';
/** The `type` of the message telling a writer the server undid one of its changes. */
export const rejectedMessageType = 'khs:rejected';

/** Per Yjs clientID, the next clock (a client that wrote items 0..4 has state 5). */
export type StateVector = Map<number, number>;

/** The acknowledgement as sent. */
export interface DurableAck {
	type: typeof durableMessageType;
	/** base64 of `Y.encodeStateVector` of the durable state. */
	stateVector: string;
}

/** A refused change as sent: which document, entity and field, and why in plain words. */
export interface RejectedMessage {
	type: typeof rejectedMessageType;
	documentName: string;
	entityId: string;
	field: string;
	message: string;
}

/** A stateless message as a client reads it; anything else on the channel parses to `null`. */
export type ServerMessage =
	| { type: typeof durableMessageType; stateVector: StateVector }
	| { type: typeof rejectedMessageType; field: string | null; message: string | null };

export function encodeBase64StateVector(stateVector: Uint8Array): string {
	let binary = '';
	for (let i = 0; i < stateVector.length; i++) binary += String.fromCharCode(stateVector[i] as number);
	return btoa(binary);
}

/** Throws on text that is not base64 of a state vector. */
export function decodeBase64StateVector(base64: string): StateVector {
	const binary = atob(base64);
	const bytes = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
	return Y.decodeStateVector(bytes);
}

/** The stateless payload announcing `stateVector` (a `Y.encodeStateVector`) as durable. */
export function encodeDurableAck(stateVector: Uint8Array): string {
	const ack: DurableAck = { type: durableMessageType, stateVector: encodeBase64StateVector(stateVector) };
	return JSON.stringify(ack);
}

/** The stateless payload telling a writer that one change was undone. */
export function encodeRejected(refusal: Omit<RejectedMessage, 'type'>): string {
	const message: RejectedMessage = { type: rejectedMessageType, ...refusal };
	return JSON.stringify(message);
}

function parseJson(payload: string): Record<string, unknown> | null {
	try {
		const data: unknown = JSON.parse(payload);
		return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : null;
	} catch {
		return null;
	}
}

/**
 * One stateless payload as a client reads it; anything we do not understand (other messages share
 * the channel, a malformed vector) is `null`, never thrown.
 */
export function parseServerMessage(payload: string): ServerMessage | null {
	const m = parseJson(payload);
	if (m?.type === durableMessageType && typeof m.stateVector === 'string') {
		try {
			return { type: durableMessageType, stateVector: decodeBase64StateVector(m.stateVector) };
		} catch {
			return null;
		}
	}
	if (m?.type === rejectedMessageType) {
		return {
			type: rejectedMessageType,
			field: typeof m.field === 'string' ? m.field : null,
			message: typeof m.message === 'string' ? m.message : null
		};
	}
	return null;
}

/** The durable state vector in a stateless payload, or `null` when it is another message or malformed. */
export function parseDurableAck(payload: string): StateVector | null {
	const message = parseServerMessage(payload);
	return message?.type === durableMessageType ? message.stateVector : null;
}

/** True when `stateVector` includes every item `clientId` created before `clock` ("next clock"). */
export function covers(stateVector: StateVector, clientId: number, clock: number): boolean {
	return (stateVector.get(clientId) ?? 0) >= clock;
}

/**
 * True when every edit `clientId` (default: this doc's own client) has made in `localDoc` is inside
 * the durable state. `durable` is a parsed ack, the ack payload, or a base64 state vector.
 */
export function isDurable(
	localDoc: Y.Doc,
	durable: StateVector | string,
	clientId: number = localDoc.clientID
): boolean {
	const vector = typeof durable === 'string' ? decodeVector(durable) : durable;
	if (!vector) return false;
	return covers(vector, clientId, Y.getState(localDoc.store, clientId));
}

function decodeVector(text: string): StateVector | null {
	if (text.trimStart().startsWith('{')) return parseDurableAck(text);
	try {
		return decodeBase64StateVector(text);
	} catch {
		return null;
	}
}
