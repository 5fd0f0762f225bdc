import type { beforeSyncPayload, Connection, Extension } from '@hocuspocus/server';
import * as Y from 'yjs';
import { DOC_LAYOUT, parseDocName } from '../../crdt/index.ts';
import { encodeRejected } from '../../wire/durability.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { Logger } from '../logger.ts';
import { skipEmptyApplies, UPDATE_TYPES } from './skip-empty-apply.ts';
import { checkUpdate, type EntityRefusal, type Undo, type WriteRuleId } from './update-check.ts';
import type { WriteCheckLimits } from './write-rules.ts';

/**
 * Checks every update a client sends BEFORE the server's document sees it (docs/server-rules.md
 * "Write checks", WRITE-1…8). Runs in Hocuspocus' `beforeSync`, which 4.7 awaits right before it
 * applies a sync step 2 or update (`MessageReceiver.readSyncMessage`):
 *
 * - **Malformed** (what the app never produces, `update-check.ts`): nothing is applied, stored or
 *   relayed. The socket is closed with 1008 `malformed update` and a `warn` line naming the rule, and
 *   the hook throws, so Hocuspocus drops the message and the rest of that document's queue
 *   (`Connection.processMessages`) — the throw is what guarantees nothing is applied.
 * - **Forbidden by role** (a stale or tampered client, WRITE-7): the update is applied here, by the
 *   guard, in ONE transaction together with the writes that undo the forbidden changes. Hocuspocus
 *   relays and stores each transaction's `update` event as one message, so no replica ever holds the
 *   forbidden value, and the server's garbage collection has dropped its content before that update
 *   is encoded. The writer gets a `khs:rejected` stateless message per refused field. Refusing
 *   instead would lock an honest client with a stale role out: every later update of its clientID
 *   would wait forever in the server's pending structs.
 *
 * Accepted updates are applied here too, so the check and the apply see the same document. Hocuspocus
 * then applies the same bytes again, which changes nothing (Yjs skips known structs and deletions);
 * to spare it decoding them twice the payload is zeroed in place — it is a view of the message
 * (lib0 `readVarUint8Array`), and an all-zero update is empty — and skip-empty-apply.ts spares the
 * empty apply too. Should a later Hocuspocus copy the payload, its second apply stays a no-op, only
 * slower.
 */

/** How a socket that sent a malformed update is closed (WRITE-1): RFC 6455 policy violation. */
export const malformedUpdateClose = { code: 1008, reason: 'malformed update' } as const;

/**
 * Thrown from `beforeSync` to make Hocuspocus drop a malformed update. It closes the document
 * connection with `code`/`reason` and `console.error`s the error, so it prints as one line.
 */
export class UpdateRefused extends Error {
	override readonly name = 'UpdateRefused';
	readonly code = malformedUpdateClose.code;
	readonly reason = malformedUpdateClose.reason;
	constructor(readonly rule: WriteRuleId) {
		super(`${rule} malformed update refused`);
		this.stack = `UpdateRefused: ${rule}`;
	}
	[Symbol.for('nodejs.util.inspect.custom')](): string {
		return this.stack as string;
	}
}

export interface WriteGuardOptions {
	logger: Logger;
	/** Called per refused field, with the connection that sent it (metrics, sync sessions). */
	onRefused?: (refusal: { connection: Connection; documentName: string; field: string }) => void;
	/** Called per malformed update, before its socket is closed. */
	onMalformed?: (refusal: { connection: Connection; documentName: string; rule: WriteRuleId }) => void;
	limits?: WriteCheckLimits;
	nowMs?: () => number;
}

export function createWriteGuardExtension(options: WriteGuardOptions): Extension {
	const nowMs = options.nowMs ?? Date.now;
	// The payloads this guard empties are then not applied a second time (skip-empty-apply.ts).
	skipEmptyApplies();
	return {
		extensionName: 'khs-write-guard',
		async afterLoadDocument({ document, documentName }) {
			// Defines the root as a map, so the checker reads it through the public API.
			const ref = parseDocName(documentName);
			if (ref) document.getMap(DOC_LAYOUT[ref.kind].root);
		},
		async beforeSync({ connection, document, documentName, type, payload }: beforeSyncPayload) {
			// Read-only connections' updates are never applied by Hocuspocus (it answers sync-status false).
			if (!UPDATE_TYPES.has(type) || connection.readOnly) return;
			const ref = parseDocName(documentName);
			const user = (connection.context as { user?: AuthUser }).user;
			const verdict =
				ref && user
					? checkUpdate(document, ref, user, payload, { nowMs: nowMs(), ...limitsOf(options) })
					: undefined;
			if (!verdict?.ok) {
				const rule = verdict?.rule ?? 'WRITE-2';
				options.onMalformed?.({ connection, documentName, rule });
				options.logger.warn(
					{
						documentName,
						userId: user?.id,
						rule,
						why: verdict?.message ?? 'no user or document',
						bytes: payload.byteLength,
						...malformedUpdateClose
					},
					'malformed update refused, socket closed'
				);
				connection.webSocket.close(malformedUpdateClose.code, malformedUpdateClose.reason);
				throw new UpdateRefused(rule);
			}
			const origin = { source: 'connection', connection } as const;
			const root = document.getMap<unknown>(DOC_LAYOUT[(ref as NonNullable<typeof ref>).kind].root);
			document.transact(() => {
				Y.applyUpdate(document, payload, origin);
				for (const { undo } of verdict.forbidden) for (const repair of undo) applyUndo(root, repair);
			}, origin);
			payload.fill(0);
			for (const { refusal } of verdict.forbidden) {
				options.onRefused?.({ connection, documentName, field: refusal.field });
				options.logger.warn(
					{ documentName, userId: user?.id, rule: 'WRITE-7', ...refusal },
					'forbidden change undone'
				);
				notify(connection, documentName, refusal);
			}
		}
	};
}

function limitsOf(options: WriteGuardOptions): { limits?: WriteCheckLimits } {
	return options.limits ? { limits: options.limits } : {};
}

/** Runs inside the update's own transaction, after the update is applied (see update-check.ts `Undo`). */
function applyUndo(root: Y.Map<unknown>, undo: Undo): void {
	const map = undo.entity === null ? root : root.get(undo.entity);
	if (!(map instanceof Y.Map)) return;
	if (undo.newItem) {
		// Only while the update's item is the key's value: a concurrent winner is not ours to touch.
		const current = (map as unknown as { _map: Map<string, Y.Item> })._map.get(undo.key);
		if (!current || current.deleted || !Y.compareIDs(current.id, undo.newItem)) return;
	}
	if (undo.hasOld) map.set(undo.key, undo.oldValue);
	else map.delete(undo.key);
}

function notify(connection: Connection, documentName: string, refusal: EntityRefusal): void {
	connection.sendStateless(encodeRejected({ documentName, ...refusal }));
}
