import { MessageReceiver, OutgoingMessage } from '@hocuspocus/server';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';

/** y-protocols sync message types that carry an update (`messageYjsSyncStep2`, `messageYjsUpdate`). */
export const UPDATE_TYPES: ReadonlySet<number> = new Set([1, 2]);

/**
 * Hocuspocus 4.7 applies every sync step 2 and update itself right after `beforeSync`
 * (`MessageReceiver.readSyncMessage`). The write guard has applied it by then, in the same
 * synchronous step as its check, and zeroed the payload (write-guard.ts), so Hocuspocus' apply is of
 * an empty update — which Yjs still runs as a whole transaction, with two state vectors of every
 * client the document has ever had: 6.6 µs at 10 clients, 65 µs at 1,000 (as much as a one-key
 * edit), and 11.4 % of our busy time on documents with 1,000 past clients (bench:peers `aged`; every
 * app session is a new client). No hook lets `beforeSync` say "applied", so this wraps the method:
 * for an update or sync step 2 from a writable connection it does what Hocuspocus 4.7 does — the
 * same `beforeSync` call, the same read-only answers, the same sync status — except applying an
 * update that is empty while nothing waits in the document's pending structs (applying it would
 * then change nothing). Every other message is Hocuspocus' own code. skip-empty-apply.test.ts checks
 * one server transaction per update (two without this), the writer still told its update is applied,
 * and a server without the guard still applying updates; recheck this on a Hocuspocus upgrade.
 */
export function skipEmptyApplies(): void {
	const receiver = MessageReceiver.prototype as MessageReceiver & { [installed]?: true };
	if (receiver[installed]) return;
	receiver[installed] = true;
	const hocuspocus = receiver.readSyncMessage;
	receiver.readSyncMessage = async function readSyncMessage(message, document, connection, reply, first) {
		if (!connection || connection.readOnly || !UPDATE_TYPES.has(decoding.peekVarUint(message.decoder))) {
			return hocuspocus.call(this, message, document, connection, reply, first);
		}
		const type = message.readVarUint() as 1 | 2;
		await connection.callbacks.beforeSync(connection, { type, payload: message.peekVarUint8Array() });
		const update = message.readVarUint8Array();
		const status = (applied: boolean) =>
			connection.send(new OutgoingMessage(connection.messageAddress).writeSyncStatus(applied).toUint8Array());
		// Made read-only while `beforeSync` ran (a revocation): Hocuspocus' read-only answers.
		if (connection.readOnly) {
			status(type === 1 && Y.snapshotContainsUpdate(Y.snapshot(document), update));
			return type;
		}
		if (!isEmpty(update) || document.store.pendingStructs || document.store.pendingDs) {
			try {
				Y.applyUpdate(document, update, { source: 'connection', connection });
			} catch (error) {
				// As y-protocols' readSyncStep2, which Hocuspocus calls: an observer's error, reported.
				console.error('Caught error while handling a Yjs update', error);
			}
		}
		status(true);
		return type;
	};
}

const installed = Symbol('khs.skipEmptyApplies');

/** An all-zero update: no structs, no deletions (what the write guard leaves of what it applied). */
function isEmpty(update: Uint8Array): boolean {
	for (const byte of update) if (byte !== 0) return false;
	return true;
}
