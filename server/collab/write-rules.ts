import {
	CrdtError,
	DOC_KINDS,
	DOC_LAYOUT,
	type DocKind,
	ENTITY_DEFS,
	type EntityDef,
	entityPart,
	type FieldSpec,
	isRole,
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
 * Field-level write rules (docs/architecture.md "Who may do what"), checked on the server for every key an
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
	// An entity exists while it has a creation date (crdt documents.ts): it is written once, at create,
	// and never again, so erasing it can only make an entity vanish (ws-fuzz seed 1020797181).
	if (field === 'createdAt' && change.action !== 'add') {
		return { field, message: 'The creation date is never changed.' };
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

/**
 * Bounds of the shape checks (docs/server-rules.md "Write checks", WRITE-4…6). What the app never
 * produces; an entry outside them refuses the whole update.
 */
export interface WriteCheckLimits {
	/**
	 * How far ahead of the server's clock a stamp may be (WRITE-6). Honest devices run up to a day
	 * ahead (SPEC HLC-3), and whoever has seen their writes stamps later than them; the hour on top
	 * covers a day-ahead device that is also a little fast, and time zones set by hand.
	 */
	maxClockAheadMs: number;
	/** Longest map key; the app's longest is a private-note mark, two UUID-size ids and three short ones. */
	maxKeyLength: number;
	/** Longest user or device id in a stamp. */
	maxIdLength: number;
	/** Largest |hours| one counter entry may add or correct (a year of days is 8,784). */
	maxHoursPerEntry: number;
	/** Largest |number| of any register: the largest valid `Date`, so any number can be a time. */
	maxNumber: number;
}

export const writeCheckDefaults: WriteCheckLimits = {
	maxClockAheadMs: 25 * 60 * 60 * 1000,
	maxKeyLength: 256,
	maxIdLength: 128,
	maxHoursPerEntry: 100_000,
	maxNumber: 8.64e15
};

/** Why an entry is malformed; the rule ids are docs/server-rules.md's. */
export interface Malformed {
	readonly rule: 'WRITE-3' | 'WRITE-4' | 'WRITE-5' | 'WRITE-6';
	readonly message: string;
}

const FULL_ENTITY_OF_DOC = Object.fromEntries(
	DOC_KINDS.map((kind) => [kind, ENTITY_DEFS[DOC_LAYOUT[kind].entity]])
) as Readonly<Record<DocKind, EntityDef>>;

/**
 * The shape a key of `field` must have (crdt/keys.ts and the writers in crdt/): the segments after
 * the field, and which payload key its entry carries (`undefined`: a bare stamp). `undefined` when
 * the key has no valid shape.
 */
function keyShape(
	spec: FieldSpec,
	parts: readonly string[]
): { payload: 'v' | 'x' | 'n' | undefined } | undefined {
	if (parts.some((part) => part === '')) return undefined;
	switch (spec.kind) {
		case 'register':
			return parts.length === 1 ? { payload: 'v' } : undefined;
		case 'touch':
			return parts.length === 1 ? { payload: undefined } : undefined;
		case 'counter':
			return parts.length === 1 ? { payload: 'n' } : undefined;
		case 'set':
			return parts.length === 2 ? { payload: undefined } : undefined;
		case 'notes':
		case 'privateNotes': {
			// `notes|+|<id>`, `notes|-|<id>|<mark>`; private notes carry their author first.
			const rest = spec.kind === 'privateNotes' ? parts.slice(1) : parts;
			if (spec.kind === 'privateNotes' && parts.length < 1) return undefined;
			if (rest[0] === '+' && rest.length === 2) return { payload: 'x' };
			if (rest[0] === '-' && rest.length === 3) return { payload: undefined };
			return undefined;
		}
	}
}

/**
 * Whether an entry written under `key` of a document of `docKind` is one the app could have made
 * (WRITE-3…6): a key of a known field in that field's shape, and a plain object with exactly the
 * stamp (crdt/entry.ts) and the field kind's payload, of the right types and sizes, written by `user`
 * at most `maxClockAheadMs` ahead of `nowMs`. The role in the stamp is not checked here: a stale
 * role is a forbidden write (`refuseEntityChange`), compensated, never refused (WRITE-7).
 */
export function malformedEntry(
	docKind: DocKind,
	key: string,
	value: unknown,
	user: AuthUser,
	nowMs: number,
	limits: WriteCheckLimits = writeCheckDefaults
): Malformed | undefined {
	const def = FULL_ENTITY_OF_DOC[docKind];
	if (key.length > limits.maxKeyLength) return { rule: 'WRITE-3', message: 'key too long' };
	const { field, parts } = parseKey(key);
	const spec = storedFieldSpec(def, field);
	if (!spec) return { rule: 'WRITE-3', message: `unknown field "${field.slice(0, 40)}"` };
	const shape = keyShape(spec, parts);
	if (!shape) return { rule: 'WRITE-3', message: `malformed key of ${field}` };
	if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
		return { rule: 'WRITE-4', message: `${field}: an entry is a plain object` };
	}
	const entry = value as Record<string, unknown>;
	const keys = Object.keys(entry);
	const expected = STAMP_KEYS.length + (shape.payload ? 1 : 0);
	if (keys.length !== expected || !keys.every((k) => STAMP_KEYS.includes(k) || k === shape.payload)) {
		return { rule: 'WRITE-4', message: `${field}: unexpected or missing keys` };
	}
	const { t, c, u, d, r } = entry;
	if (!Number.isSafeInteger(c) || (c as number) < 0) return { rule: 'WRITE-4', message: 'malformed stamp' };
	if (!isRole(r) || typeof d !== 'string' || d === '' || d.length > limits.maxIdLength) {
		return { rule: 'WRITE-4', message: 'malformed stamp' };
	}
	if (!Number.isSafeInteger(t) || (t as number) < 0) return { rule: 'WRITE-4', message: 'malformed stamp' };
	if ((t as number) > nowMs + limits.maxClockAheadMs) {
		return { rule: 'WRITE-6', message: 'stamp too far ahead of the server clock' };
	}
	if (u !== user.id) return { rule: 'WRITE-5', message: 'entry written in the name of another user' };
	if (shape.payload === 'v') {
		try {
			validateValue(def, field, entry.v);
		} catch (error) {
			if (error instanceof CrdtError) return { rule: 'WRITE-4', message: error.message };
			throw error;
		}
		if (typeof entry.v === 'number' && Math.abs(entry.v) > limits.maxNumber) {
			return { rule: 'WRITE-4', message: `${field}: number out of range` };
		}
	}
	if (shape.payload === 'x' && (typeof entry.x !== 'string' || entry.x.length > MAX_TEXT_LENGTH)) {
		return { rule: 'WRITE-4', message: `${field}: a note is text of at most ${MAX_TEXT_LENGTH} characters` };
	}
	if (shape.payload === 'n') {
		const n = entry.n;
		if (typeof n !== 'number' || !Number.isFinite(n) || Math.abs(n) > limits.maxHoursPerEntry) {
			return { rule: 'WRITE-4', message: `${field}: hours out of range` };
		}
	}
	return undefined;
}
