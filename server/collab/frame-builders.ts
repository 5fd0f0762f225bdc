import * as encoding from 'lib0/encoding';
import { messageTypes, syncSteps } from './frames.ts';

/**
 * Hocuspocus frames as a raw client writes them, for tests and benches that attack `/collab`
 * without a provider (a hostile client is not limited to what the provider sends).
 */
function envelope(address: string, type: number, body: (e: encoding.Encoder) => void): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarString(e, address);
	encoding.writeVarUint(e, type);
	body(e);
	return encoding.toUint8Array(e);
}

/** The first frame of a document connection: `Auth Token <token>`. */
export function authFrame(address: string, token: string): Uint8Array {
	return envelope(address, messageTypes.auth, (e) => {
		encoding.writeVarUint(e, 0);
		encoding.writeVarString(e, token);
	});
}

/** Sync step 1 with `stateVector` (`Y.encodeStateVector`; `[0]` is an empty document's). */
export function syncStep1Frame(address: string, stateVector: Uint8Array = Uint8Array.of(0)): Uint8Array {
	return envelope(address, messageTypes.sync, (e) => {
		encoding.writeVarUint(e, syncSteps.step1);
		encoding.writeVarUint8Array(e, stateVector);
	});
}

/** A Yjs update as a sync `update` message. */
export function updateFrame(address: string, update: Uint8Array): Uint8Array {
	return envelope(address, messageTypes.sync, (e) => {
		encoding.writeVarUint(e, syncSteps.update);
		encoding.writeVarUint8Array(e, update);
	});
}

/** An awareness message carrying `payload` as its opaque update. */
export function awarenessFrame(address: string, payload: Uint8Array): Uint8Array {
	return envelope(address, 1, (e) => encoding.writeVarUint8Array(e, payload));
}
