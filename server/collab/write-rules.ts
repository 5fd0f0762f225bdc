import {
	CrdtError,
	DOC_KINDS,
	DOC_LAYOUT,
	type DocKind,
	ENTITY_DEFS,
	type EntityDef,
	entityPart,
	isStamp,
	MAX_TEXT_LENGTH,
	parseKey,
	STAMP_KEYS,
	storedFieldSpec,
	validateValue,
	workerMayWrite
} from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';

/**
 * Field-level write rules (issue 3 "Who may do what"), checked on the server for every key an
 * incoming update adds, overwrites or deletes in an entity map. Pure: `write-guard.ts` applies
 * the verdicts to live documents. Keys follow `crdt/keys.ts`: `<field>|<parts…>`.
 */
export interface KeyChange {
	readonly key: string;
	readonly action: 'add' | 'update' | 'delete';
	/** The value now under the key (add, update). */
	readonly newValue?: unknown;
}

/** Why a change was refused, in words the UI can show as they are. */
export interface Refusal {
	readonly field: string;
	readonly message: string;
}

/** The part of an entity each kind of document holds (SPEC AUD-2): a key of another part is unknown here. */
const ENTITY_OF_DOC = Object.fromEntries(
	DOC_KINDS.map((kind) => [kind, entityPart(ENTITY_DEFS[DOC_LAYOUT[kind].entity], DOC_LAYOUT[kind].audience)])
) as Readonly<Record<DocKind, EntityDef>>;

/** Looks up the author of a note by its key, to let authors (and owners) hide their own notes. */
export type NoteAuthor = (field: string, scope: readonly string[], noteId: string) => string | undefined;

export function refuseEntityChange(
	user: AuthUser,
	docKind: DocKind,
	change: KeyChange,
	noteAuthor: NoteAuthor
): Refusal | undefined {
	const def = ENTITY_OF_DOC[docKind];
	const { field, parts } = parseKey(change.key);
	// Hidden fields too: the touch (SPEC DUR-2) is open to anyone who may write the document, so
	// it needs no rule of its own below; its entries are checked like all others.
	const spec = storedFieldSpec(def, field);
	if (!spec) return { field, message: `There is no field "${field}" on a ${def.name}.` };
	if (user.role !== 'OWNER') {
		if (docKind === 'customer') return { field, message: 'Only the owner can change customers.' };
		// SPEC AUD-3, read from the schema; the touch (hidden) is open to every writer of the document.
		if (spec.kind !== 'touch' && !workerMayWrite(def, field)) {
			const label = spec.label ?? field;
			return { field, message: `Your change to ${label} was undone: only the owner can change it.` };
		}
	}
	if (spec.kind === 'privateNotes' && parts[0] !== user.id) {
		return { field, message: 'Private notes can only be written by their author.' };
	}
	if (change.action !== 'delete') {
		const invalid = invalidEntry(def, field, spec.kind, change.newValue, user);
		if (invalid) return { field, message: invalid };
	}
	if (spec.kind === 'notes' || spec.kind === 'privateNotes')
		return refuseNoteChange(user, field, parts, change, noteAuthor);
	if (spec.kind === 'counter' && change.action !== 'add') {
		return { field, message: 'Logged hours can be corrected with a new entry, never erased.' };
	}
	return undefined;
}

/** Notes are append-only: a note is never erased or rewritten; only its author or an owner hides it. */
function refuseNoteChange(
	user: AuthUser,
	field: string,
	parts: readonly string[],
	change: KeyChange,
	noteAuthor: NoteAuthor
): Refusal | undefined {
	const scope = field === 'privateNotes' ? parts.slice(0, 1) : [];
	const [marker, noteId = ''] = parts.slice(scope.length);
	if (marker === '+') {
		return change.action === 'add'
			? undefined
			: { field, message: 'Notes can be hidden, never erased or rewritten.' };
	}
	if (marker !== '-') return { field, message: 'Malformed note entry.' };
	const author = noteAuthor(field, scope, noteId);
	if (author === undefined) return { field, message: 'There is no such note.' };
	if (user.role !== 'OWNER' && author !== user.id) {
		return { field, message: "Only a note's author or the owner can hide or restore it." };
	}
	return undefined;
}

/** A new entry must be well-formed and carry the writer's own identity and role. */
function invalidEntry(
	def: EntityDef,
	field: string,
	kind: string,
	value: unknown,
	user: AuthUser
): string | undefined {
	if (!isStamp(value)) return 'Malformed entry.';
	// Role is checked too: a worker claiming OWNER would win every role-ruled field (JOB-1).
	if (value.u !== user.id || value.r !== user.role) return 'Entries must carry your own user and role.';
	const entry = value as unknown as Record<string, unknown>;
	if (kind === 'register') {
		try {
			validateValue(def, field, entry.v);
		} catch (error) {
			if (error instanceof CrdtError) return error.message;
			throw error;
		}
	}
	if (kind === 'notes' || kind === 'privateNotes') {
		const text = entry.x;
		if (text !== undefined && (typeof text !== 'string' || text.length > MAX_TEXT_LENGTH))
			return 'Malformed note.';
	}
	if (kind === 'counter' && !Number.isFinite(entry.n)) return 'Hours must be a number.';
	// A touch carries nothing but its stamp, so it cannot smuggle unvalidated data (SPEC DUR-2).
	if (kind === 'touch' && Object.keys(entry).some((k) => !STAMP_KEYS.includes(k))) return 'Malformed entry.';
	return undefined;
}
