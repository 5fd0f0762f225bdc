import type { Connection, Document, Extension } from '@hocuspocus/server';
import { isTransactionOrigin } from '@hocuspocus/server';
import * as Y from 'yjs';
import { DOC_LAYOUT, type DocKind, entryKey, parseDocName, parseKey } from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { Logger } from '../logger.ts';
import { type KeyChange, type NoteAuthor, type Refusal, refuseEntityChange } from './write-rules.ts';

/**
 * Enforces the field-level write rules on every update a client sends. Yjs cannot refuse an update
 * the client has already applied locally, so a forbidden change is undone by a compensating write
 * made on the server (issue 3): it reaches every replica like any other update, so all converge to
 * the undone state, and the offending client gets a `khs:rejected` stateless message to show.
 */
export interface RejectedMessage {
	type: 'khs:rejected';
	documentName: string;
	entityId: string;
	field: string;
	message: string;
}

/** Origin of compensating writes: local, so the guard never inspects its own repairs. */
const COMPENSATION_ORIGIN = { source: 'local', context: { compensation: true } } as const;

export function createWriteGuardExtension(options: {
	logger: Logger;
	/** Called per refused field, with the connection that sent it (metrics, sync sessions). */
	onRefused?: (refusal: { connection: Connection; documentName: string; field: string }) => void;
}): Extension {
	return {
		extensionName: 'khs-write-guard',
		async afterLoadDocument({ document, documentName }) {
			const ref = parseDocName(documentName);
			if (!ref) return;
			document.getMap(DOC_LAYOUT[ref.kind].root).observeDeep((events, transaction) => {
				const origin = transaction.origin;
				if (!isTransactionOrigin(origin) || origin.source !== 'connection') return;
				const user = (origin.connection.context as { user?: AuthUser }).user;
				if (!user) return;
				const refusals = guardEvents(document, ref.kind, user, events);
				for (const refusal of refusals) {
					options.onRefused?.({ connection: origin.connection, documentName, field: refusal.field });
					options.logger.warn({ documentName, userId: user.id, ...refusal }, 'forbidden change undone');
					notify(origin.connection, { type: 'khs:rejected', documentName, ...refusal });
				}
			});
		}
	};
}

interface EntityRefusal extends Refusal {
	entityId: string;
}

/**
 * Checks every key change of one transaction and queues the compensating write for refused ones.
 * A register write is "delete what I have seen, add mine": when the add is refused, the deletes of
 * the same field in the same transaction are undone too, or the field would be left empty.
 */
function guardEvents(
	document: Document,
	kind: DocKind,
	user: AuthUser,
	events: Y.YEvent<Y.AbstractType<unknown>>[]
): EntityRefusal[] {
	const refusals: EntityRefusal[] = [];
	const repairs: (() => void)[] = [];
	for (const event of events) {
		if (!(event.target instanceof Y.Map)) continue;
		const map = event.target as Y.Map<unknown>;
		const nested = DOC_LAYOUT[kind].nested;
		const isMaterialsRoot = nested && event.path.length === 0;
		const entityId = nested ? String(event.path[0] ?? '') : '';
		const refusedFields = new Map<string, EntityRefusal>();
		for (const [key, { action }] of event.changes.keys) {
			const refusal = isMaterialsRoot
				? refuseMaterialsRootChange(action, map.get(key))
				: refuseEntityChange(user, kind, { key, action, newValue: map.get(key) }, noteAuthorIn(map));
			const field = isMaterialsRoot ? key : parseKey(key).field;
			if (refusal && !refusedFields.has(field)) {
				refusedFields.set(field, { ...refusal, entityId: isMaterialsRoot ? key : entityId });
			}
		}
		for (const [key, { action, oldValue }] of event.changes.keys) {
			if (refusedFields.has(isMaterialsRoot ? key : parseKey(key).field)) {
				repairs.push(() => undo(map, key, action, oldValue));
			}
		}
		refusals.push(...refusedFields.values());
	}
	// Runs as its own transaction once this one's observers finish (Yjs queues nested transactions).
	if (repairs.length > 0) {
		document.transact(() => {
			for (const repair of repairs) repair();
		}, COMPENSATION_ORIGIN);
	}
	return refusals;
}

/** Materials are added as maps and removed only by tombstone, never by deleting their map (TOMB-2). */
function refuseMaterialsRootChange(action: KeyChange['action'], value: unknown): Refusal | undefined {
	if (action === 'delete')
		return { field: 'deleted', message: 'Materials are deleted with a tombstone so they can be restored.' };
	if (action === 'update') return { field: 'id', message: 'A material cannot be replaced by another.' };
	if (!(value instanceof Y.Map)) return { field: 'id', message: 'Malformed material.' };
	return undefined;
}

function undo(map: Y.Map<unknown>, key: string, action: KeyChange['action'], oldValue: unknown): void {
	if (action === 'add') map.delete(key);
	else map.set(key, oldValue instanceof Y.Map ? copyDeletedMap(oldValue) : oldValue);
}

/**
 * Rebuilds a deleted nested map from its items. Observers run before Yjs garbage-collects the
 * deleted content (yjs Transaction.js cleanupTransactions), so the entries are still readable
 * through the internal `_map`; a deleted type's public getters return nothing.
 */
function copyDeletedMap(deleted: Y.Map<unknown>): Y.Map<unknown> {
	const copy = new Y.Map<unknown>();
	const items = (deleted as unknown as { _map: Map<string, { content: { getContent(): unknown[] } }> })._map;
	for (const [key, item] of items) {
		const [value] = item.content.getContent();
		if (value !== undefined) copy.set(key, value);
	}
	return copy;
}

function noteAuthorIn(map: Y.Map<unknown>): NoteAuthor {
	return (field, scope, noteId) => {
		const note = map.get(entryKey(field, ...scope, '+', noteId));
		return typeof note === 'object' && note !== null ? String((note as { u?: unknown }).u) : undefined;
	};
}

function notify(connection: Connection, message: RejectedMessage): void {
	connection.sendStateless(JSON.stringify(message));
}
