import { compareStamps, isStamp, type Stamp } from './entry.ts';
import { CrdtError } from './errors.ts';
import { randomId } from './ids.ts';
import { entryKey, keysOf } from './keys.ts';
import type { EntityMap } from './register.ts';

/**
 * Append list with soft delete (job and material notes, private notes). Appends never touch each
 * other, so concurrent appends are all kept; order is by stamp, identical on every replica. A
 * delete only marks a note (`<field>|<scope…>|-|<noteId>`), so it can be restored and nothing a
 * user wrote is ever lost (spec "Use append-only for shared data"; SPEC NOTE-1…4).
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
	const mark = entryKey(field, ...scope, DELETED, noteId);
	if (deleted) map.set(mark, stamp);
	else map.delete(mark);
}

export function readNotes(map: EntityMap, field: string, scope: string[] = []): Note[] {
	const notes: Note[] = [];
	for (const key of keysOf(map, field, ...scope, ADDED)) {
		const stored = map.get(key);
		if (!isStamp(stored) || typeof (stored as Partial<StoredNote>).x !== 'string') continue;
		const id = key.slice(key.lastIndexOf('|') + 1);
		const deleted = map.has(entryKey(field, ...scope, DELETED, id));
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
