import { compareStamps, isStamp, type Stamp } from './entry.ts';
import { CrdtError } from './errors.ts';
import { randomId } from './ids.ts';
import { entryKey } from './keys.ts';
import { fieldEntries, keysOf } from './map-index.ts';
import type { EntityMap } from './register.ts';

/**
 * Append list with soft delete (job and material notes, private notes). Appends never touch each
 * other, so concurrent appends are all kept; order is by stamp, identical on every replica. A
 * delete only marks a note (`<field>|<scope…>|-|<noteId>|<markId>`), so it can be restored and
 * nothing a user wrote is ever lost (spec "Use append-only for shared data"; SPEC NOTE-1…4).
 *
 * Each delete mark has its own key, and a delete or restore removes only the marks its replica
 * has seen — the observed-remove rule of the register. One shared mark key per note let Yjs pick
 * between concurrent marks by clientID (docs/pitfalls.md "Yjs"): a delete concurrent with a restore
 * was undone or kept depending on which device had the larger random id (crdt/regressions.test.ts).
 */
export const NOTE_SEPARATOR = '\n---\n';

export interface Note extends Stamp {
	readonly id: string;
	readonly text: string;
	readonly deleted: boolean;
}

const ADDED = '+';
const DELETED = '-';

interface StoredNote extends Stamp {
	readonly x: string;
}

export function appendNote(
	map: EntityMap,
	field: string,
	scope: string[],
	text: string,
	stamp: Stamp
): string {
	const id = randomId();
	map.set(entryKey(field, ...scope, ADDED, id), { ...stamp, x: text } satisfies StoredNote);
	return id;
}

export function setNoteDeleted(
	map: EntityMap,
	field: string,
	scope: string[],
	noteId: string,
	deleted: boolean,
	stamp: Stamp
): void {
	if (!map.has(entryKey(field, ...scope, ADDED, noteId))) {
		throw new CrdtError('unknown_note', `no note ${noteId} in ${field}`, field);
	}
	for (const mark of keysOf(map, field, ...scope, DELETED, noteId)) map.delete(mark);
	if (deleted) map.set(entryKey(field, ...scope, DELETED, noteId, randomId()), stamp);
}

export function readNotes(map: EntityMap, field: string, scope: string[] = []): Note[] {
	const { keys, values } = fieldEntries(map, field);
	const addedPrefix = entryKey(field, ...scope, ADDED, '');
	const markPrefix = entryKey(field, ...scope, DELETED, '');
	// A note is deleted while any of its marks is live; the note id is the segment after `-`.
	const deletedIds = new Set<string>();
	for (const key of keys) {
		if (key.startsWith(markPrefix))
			deletedIds.add(key.slice(markPrefix.length, key.indexOf('|', markPrefix.length)));
	}
	const notes: Note[] = [];
	for (let i = 0; i < keys.length; i++) {
		const key = keys[i] as string;
		if (!key.startsWith(addedPrefix)) continue;
		const stored = values[i];
		if (!isStamp(stored) || typeof (stored as Partial<StoredNote>).x !== 'string') continue;
		const id = key.slice(key.lastIndexOf('|') + 1);
		const deleted = deletedIds.has(id);
		const { t, c, u, d, r, x } = stored as StoredNote;
		notes.push({ id, text: x, deleted, t, c, u, d, r });
	}
	return notes.sort((a, b) => compareStamps(a, b) || (a.id < b.id ? -1 : 1));
}

/** The spec's rendering of notes: live entries joined by `\n---\n` (mergeNotes). */
export function renderNotes(notes: readonly Note[]): string {
	return notes
		.filter((n) => !n.deleted)
		.map((n) => n.text)
		.join(NOTE_SEPARATOR);
}
