import * as Y from 'yjs';
import { addMember, readMembers, removeMember, replaceMembers } from './add-wins-set.ts';
import { appendNote, type Note, readNotes, renderNotes, setNoteDeleted } from './append-list.ts';
import type { HybridClock } from './clock.ts';
import { addToCounter, readCounter, readCounterByUser } from './counter.ts';
import { isStamp, type Stamp, stampOf } from './entry.ts';
import { CrdtError } from './errors.ts';
import { fieldEntries, type MapIndex, mapIndex, remembered } from './map-index.ts';
import { type EntityMap, readRegister, SEEN_ALL, type Seen, writeRegister, writeTouch } from './register.ts';
import {
	distinctValues,
	type JsonScalar,
	RESOLVERS,
	type RegisterEntry,
	type ResolverName
} from './resolvers.ts';
import { type EntityDef, type FieldSpec, TOUCH_FIELD } from './schema.ts';
import { registerSpec, validateText, validateValue } from './validate.ts';
import type { Writer } from './writer.ts';

/** Everything a replica needs to write: who writes, and this device's clock. */
export interface WriteContext {
	readonly writer: Writer;
	readonly clock: HybridClock;
	/**
	 * Transaction origin of this replica's writes. A `Y.UndoManager` tracking only this origin
	 * undoes the local user's edits and never someone else's (docs/architecture.md "The app", Undo).
	 */
	readonly origin?: unknown;
}

export interface WriteOptions {
	/** Entries the write has seen; defaults to all (a local edit). See `seenWithin`. */
	readonly seen?: Seen;
}

/** One register as it stands: the resolved value and the concurrent writes behind it. */
export interface FieldState {
	readonly field: string;
	readonly value: JsonScalar;
	readonly resolver: ResolverName;
	readonly entries: readonly RegisterEntry[];
}

/** A register with more than one live value. `needsChoice` when its policy is USER_CHOICE. */
export interface FieldConflict extends FieldState {
	readonly entity: EntityDef['name'];
	readonly entityId: string;
	readonly values: readonly JsonScalar[];
	readonly needsChoice: boolean;
}

export type EntityJson = Record<string, JsonScalar | string[]>;

/** Typed reads and writes over one entity's Y.Map, following its `EntityDef`. */
export class Entity {
	constructor(
		readonly id: string,
		readonly map: EntityMap,
		readonly def: EntityDef,
		private readonly ctx: WriteContext
	) {}

	/** Writes several fields in one transaction; validates them all first so a bad one writes nothing. */
	set(values: Readonly<Record<string, unknown>>, options: WriteOptions = {}): void {
		const checked = Object.entries(values).map(
			([field, value]) => [field, validateValue(this.def, field, value)] as const
		);
		this.transact(() => {
			const stamp = this.stamp();
			for (const [field, value] of checked)
				writeRegister(this.map, field, value, stamp, options.seen ?? SEEN_ALL);
		});
	}

	get(field: string): JsonScalar {
		return this.resolved(field).value;
	}

	field(field: string): FieldState {
		const state = this.resolved(field);
		return { ...state, entries: state.entries.slice() };
	}

	/**
	 * The register as it stands, resolved once per state of the field (map-index.ts): a remote edit
	 * of one field leaves the others' resolutions standing. Shared, so never handed out as it is.
	 */
	private resolved(field: string): FieldState {
		const spec = registerSpec(this.def, field);
		// Keyed by the spec, not the name: the same field name can have other rules in another entity.
		return remembered(fieldEntries(this.map, field), spec, () => {
			const entries = readRegister(this.map, field);
			const value = entries.length === 0 ? spec.empty : RESOLVERS[spec.resolver](entries);
			return { field, value, resolver: spec.resolver, entries };
		});
	}

	/** Registers whose live entries disagree (the spec's field-level conflict report). */
	conflicts(): FieldConflict[] {
		const found: FieldConflict[] = [];
		for (const [field, spec] of Object.entries(this.def.fields)) {
			if (spec.kind !== 'register') continue;
			const state = this.field(field);
			const values = distinctValues(state.entries);
			if (values.length < 2) continue;
			const needsChoice = spec.resolver === 'userChoice';
			found.push({ ...state, entity: this.def.name, entityId: this.id, values, needsChoice });
		}
		return found;
	}

	appendNote(text: string, field = 'notes'): string {
		const checked = validateText(this.def, field, text);
		this.requireKind(field, 'notes');
		return this.transact(() => appendNote(this.map, field, [], checked, this.stamp()));
	}

	setNoteDeleted(noteId: string, deleted: boolean, field = 'notes'): void {
		this.requireKind(field, 'notes');
		this.transact(() => setNoteDeleted(this.map, field, [], noteId, deleted, this.stamp()));
	}

	notes(field = 'notes'): Note[] {
		return readNotes(this.map, field);
	}

	/** Private notes are scoped by their author: nobody writes another user's (SPEC NOTE-4). */
	appendPrivateNote(text: string, field = 'privateNotes'): string {
		const checked = validateText(this.def, field, text);
		this.requireKind(field, 'privateNotes');
		return this.transact(() => appendNote(this.map, field, [this.ctx.writer.userId], checked, this.stamp()));
	}

	privateNotes(userId: string, field = 'privateNotes'): Note[] {
		return readNotes(this.map, field, [userId]);
	}

	addMember(member: string, field = 'assignedTo'): void {
		this.requireKind(field, 'set');
		this.transact(() => addMember(this.map, field, member, this.stamp()));
	}

	removeMember(member: string, options: WriteOptions = {}, field = 'assignedTo'): void {
		this.requireKind(field, 'set');
		this.transact(() => removeMember(this.map, field, member, options.seen), options.seen);
	}

	replaceMembers(members: readonly string[], options: WriteOptions = {}, field = 'assignedTo'): void {
		this.requireKind(field, 'set');
		this.transact(() => replaceMembers(this.map, field, members, this.stamp(), options.seen), options.seen);
	}

	members(field = 'assignedTo'): string[] {
		return readMembers(this.map, field);
	}

	addToCounter(amount: number, field = 'hoursLogged'): void {
		this.requireKind(field, 'counter');
		if (!Number.isFinite(amount) || amount === 0) {
			throw new CrdtError('invalid_value', `${this.def.name}.${field} needs a non-zero amount`, field);
		}
		this.transact(() => addToCounter(this.map, field, amount, this.stamp()));
	}

	counterByUser(field = 'hoursLogged'): Map<string, number> {
		return readCounterByUser(this.map, field);
	}

	/** Tombstone, not removal: every field stays, and `restore` brings the entity back (SPEC TOMB-1, TOMB-2). */
	remove(options: WriteOptions = {}): void {
		this.set({ deleted: true }, options);
	}

	restore(options: WriteOptions = {}): void {
		this.set({ deleted: false }, options);
	}

	/**
	 * Latest wall time of any live entry of this entity, touches included, so a removal or a
	 * restore never lowers it (spec: "updatedAt: use most recent"; SPEC MAT-7, DUR-1).
	 */
	updatedAt(): number {
		let latest = 0;
		for (const value of mapIndex(this.map).values) if (isStamp(value) && value.t > latest) latest = value.t;
		return latest;
	}

	/**
	 * The plain JSON of docs/rest-api.md "Entities" (without the projection's `version`). Computed
	 * once per state of the map (map-index.ts): the app re-reads every material of a list on each
	 * update, of which one material changed. Each call gets its own copy to change as it likes.
	 */
	toJSON(): EntityJson {
		const index = mapIndex(this.map);
		const json = remembered(index, this.def, () => this.resolveJSON(index));
		const copy: EntityJson = {};
		for (const field in json) {
			const value = json[field] as EntityJson[string];
			copy[field] = Array.isArray(value) ? value.slice() : value;
		}
		// Remembered per map and schema: an Entity made with another id over the same map shows its own.
		copy.id = this.id;
		return copy;
	}

	/** One index lookup for the whole entity; fields nobody has written read as empty at once. */
	private resolveJSON(index: MapIndex): EntityJson {
		const json: EntityJson = { id: this.id };
		for (const [field, spec] of fieldList(this.def)) {
			const written = index.fields.has(field);
			if (spec.kind === 'register') json[field] = written ? this.resolved(field).value : spec.empty;
			else if (spec.kind === 'notes') json[field] = written ? renderNotes(this.notes(field)) : '';
			else if (spec.kind === 'set') json[field] = written ? this.members(field) : [];
			else if (spec.kind === 'counter') json[field] = written ? readCounter(this.map, field) : 0;
		}
		let latest = 0;
		for (const value of index.values) if (isStamp(value) && value.t > latest) latest = value.t;
		json.updatedAt = latest;
		return json;
	}

	/**
	 * A stamp later than every write already in this entity, so a write made after seeing a
	 * skewed-clock write still wins over it by HLC (SPEC HLC-3).
	 */
	private stamp(): Stamp {
		for (const value of mapIndex(this.map).values) if (isStamp(value)) this.ctx.clock.observe(value);
		return stampOf(this.ctx.writer, this.ctx.clock.next());
	}

	/**
	 * Runs one edit in one transaction. An edit that only deleted entries (a crew removal, a replace
	 * that only drops, a note restore) also writes a touch: Yjs deletions do not advance the writer's
	 * clock, so without it the durability acknowledgement could not cover the edit, and removing the
	 * newest entry would lower `updatedAt` (SPEC DUR-1, MAT-7). Checked here, per entity, rather than
	 * in each operation, so a future delete-only edit cannot forget it. `seen` is the edit's own
	 * (SPEC REG-2): an edit based on an older state removes only the touches inside that state.
	 */
	private transact<T>(work: () => T, seen: Seen = SEEN_ALL): T {
		const doc = this.map.doc;
		if (!doc) throw new CrdtError('unknown_entity', `${this.def.name} ${this.id} is not in a document`);
		let result: T | undefined;
		doc.transact(() => {
			const clock = Y.getState(doc.store, doc.clientID);
			// Live entries, as `Y.Map.size` counts them, but without its walk over every dead key.
			const size = mapIndex(this.map).values.length;
			result = work();
			const wroteNothing = Y.getState(doc.store, doc.clientID) === clock;
			// With nothing written, the only possible change is deletion, which shrinks the live keys.
			if (wroteNothing && mapIndex(this.map).values.length < size)
				writeTouch(this.map, TOUCH_FIELD, this.stamp(), seen);
		}, this.ctx.origin ?? this.ctx.writer);
		return result as T;
	}

	private requireKind(field: string, kind: string): void {
		const spec = this.def.fields[field];
		if (!spec) throw new CrdtError('unknown_field', `${this.def.name} has no field "${field}"`, field);
		if (spec.kind !== kind) {
			throw new CrdtError(
				'wrong_field_kind',
				`${this.def.name}.${field} is a ${spec.kind}, not ${kind}`,
				field
			);
		}
	}
}

const fieldLists = new WeakMap<EntityDef, ReadonlyArray<readonly [string, FieldSpec]>>();

/** `Object.entries(def.fields)`, made once per schema rather than on every read. */
function fieldList(def: EntityDef): ReadonlyArray<readonly [string, FieldSpec]> {
	let list = fieldLists.get(def);
	if (!list) {
		list = Object.entries(def.fields);
		fieldLists.set(def, list);
	}
	return list;
}
