import * as Y from 'yjs';
import { DOC_LAYOUT, type DocRef, entryKey, isUuid, keyField } from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';
import {
	type KeyChange,
	type Malformed,
	malformedEntry,
	type NoteAuthor,
	type Refusal,
	refuseEntityChange,
	type WriteCheckLimits,
	writeCheckDefaults
} from './write-rules.ts';

/**
 * Checks one Yjs update a client sent against a document BEFORE it is applied (docs/server-rules.md
 * "Write checks", WRITE-1…8). Pure: reads the document, never writes it. The update is decoded with
 * `Y.decodeUpdate` (structs and delete set, nothing applied), each new item is placed — its parent
 * is a top-level name, or an item of the document or of the update itself, and an item with an
 * origin inherits its origin's parent and key, exactly as Yjs integrates it — and every item and
 * every deletion is judged by the pure rules of write-rules.ts.
 *
 * The verdict is either `malformed` (something the app never produces: refuse all of it) or a list
 * of forbidden changes with what undoes each (a well-formed write a stale or tampered client can
 * send), which write-guard.ts applies in the same transaction as the update.
 */
export type UpdateVerdict =
	| { readonly ok: false; readonly rule: WriteRuleId; readonly message: string }
	| { readonly ok: true; readonly forbidden: readonly ForbiddenChange[] };

export type WriteRuleId = 'WRITE-2' | Malformed['rule'];

export interface EntityRefusal extends Refusal {
	/** The material's id in `materials:` documents, the document's entity id otherwise. */
	readonly entityId: string;
}

/** One refused field of one entity, and the key-level repairs that undo every change to it. */
export interface ForbiddenChange {
	readonly refusal: EntityRefusal;
	readonly undo: readonly Undo[];
}

/**
 * Undoes one key's change. `entity` is the material id of the map holding the key (`null`: the
 * document's root map). With `newItem`, the key was written by the update: when that item is still
 * the key's value after applying, it is removed (or the old value put back, `hasOld`). Without it,
 * the key was deleted: the old value is put back.
 */
export interface Undo {
	readonly entity: string | null;
	readonly key: string;
	readonly newItem?: Y.ID;
	readonly hasOld: boolean;
	readonly oldValue?: unknown;
}

export interface CheckOptions {
	nowMs: number;
	limits?: WriteCheckLimits;
}

/** Where an item sits: under the top-level type `root`, directly (`entity` null) or in a map there. */
interface Place {
	readonly root: string;
	readonly entity: string | null;
	readonly key: string | null;
}

/** An item Yjs would garbage-collect on arrival (its parent or origin is already collected). */
const GONE = 'gone' as const;

type Struct = Y.Item | Y.GC | Y.Skip;

/** What `Y.decodeUpdate` gives as the delete set (its class is not exported by name). */
type DeleteSet = ReturnType<typeof Y.decodeUpdate>['ds'];

class Refused extends Error {
	constructor(
		readonly rule: WriteRuleId,
		message: string
	) {
		super(message);
	}
}

function refuse(rule: WriteRuleId, message: string): never {
	throw new Refused(rule, message);
}

/** A key change this update makes, gathered before the rules are asked. */
interface Change {
	entity: string | null;
	key: string;
	/** The new live item under the key, when the update writes it. */
	newItem?: Y.Item;
	newValue?: unknown;
	/** The live value the update removes (overwritten or deleted), when there was one. */
	old?: { value: unknown };
}

export function checkUpdate(
	doc: Y.Doc,
	ref: DocRef,
	user: AuthUser,
	update: Uint8Array,
	options: CheckOptions
): UpdateVerdict {
	try {
		return { ok: true, forbidden: new UpdateChecker(doc, ref, user, options).check(update) };
	} catch (error) {
		if (error instanceof Refused) return { ok: false, rule: error.rule, message: error.message };
		// Whatever the checker cannot follow (a Yjs decoder error, a chain deep enough to overflow the
		// stack) is nothing the app makes: refused like any malformed update, never applied unchecked.
		return {
			ok: false,
			rule: 'WRITE-2',
			message: `update could not be checked: ${String(error).slice(0, 80)}`
		};
	}
}

class UpdateChecker {
	private readonly layout;
	private readonly limits: WriteCheckLimits;
	/** The update's structs the document does not have yet, per client, in clock order. */
	private readonly fresh = new Map<number, Struct[]>();
	private readonly freshSet = new Set<Struct>();
	private readonly places = new Map<Struct, Place | typeof GONE>();
	/** The update's own items that its delete set deletes: they never become a live value. */
	private readonly deletedFresh = new Set<Y.Item>();
	private readonly changes = new Map<string, Change>();
	private readonly rootNames = new Map<unknown, string>();

	constructor(
		private readonly doc: Y.Doc,
		private readonly ref: DocRef,
		private readonly user: AuthUser,
		private readonly options: CheckOptions
	) {
		this.layout = DOC_LAYOUT[ref.kind];
		this.limits = options.limits ?? writeCheckDefaults;
		for (const [name, type] of doc.share) this.rootNames.set(type, name);
	}

	check(update: Uint8Array): ForbiddenChange[] {
		let decoded: { structs: Struct[]; ds: DeleteSet };
		try {
			decoded = Y.decodeUpdate(update) as { structs: Struct[]; ds: DeleteSet };
		} catch {
			return refuse('WRITE-2', 'undecodable update');
		}
		const items = this.collectFresh(decoded.structs);
		this.readDeletes(decoded.ds);
		for (const item of items) this.checkItem(item);
		return this.judge();
	}

	/**
	 * WRITE-2: per client, one run of contiguous structs that starts inside what the document has.
	 * Yjs keeps only the last run of a client that appears twice, and parks structs beyond a gap in
	 * its pending store, where they would be integrated later without a check: both are refused.
	 */
	private collectFresh(structs: Struct[]): Y.Item[] {
		const items: Y.Item[] = [];
		let client = -1;
		let nextInUpdate = 0;
		let known = 0;
		for (const struct of structs) {
			const { client: c, clock } = struct.id;
			if (c !== client) {
				if (this.fresh.has(c)) refuse('WRITE-2', 'a client appears twice in the update');
				client = c;
				known = Y.getState(this.doc.store, c);
				this.fresh.set(c, []);
			} else if (clock !== nextInUpdate) refuse('WRITE-2', 'structs out of order');
			nextInUpdate = clock + struct.length;
			if (struct instanceof Y.Skip) continue;
			if (clock > known) refuse('WRITE-2', 'the update depends on content the server does not have');
			if (nextInUpdate <= known) continue;
			known = nextInUpdate;
			(this.fresh.get(c) as Struct[]).push(struct);
			this.freshSet.add(struct);
			if (struct instanceof Y.Item) items.push(struct);
		}
		return items;
	}

	/** The struct holding `id`, in the update's fresh structs or the document; undefined when neither has it. */
	private find(id: Y.ID): Struct | undefined {
		const fresh = this.fresh.get(id.client);
		if (fresh && fresh.length > 0 && id.clock >= (fresh[0] as Struct).id.clock) {
			let lo = 0;
			let hi = fresh.length - 1;
			while (lo <= hi) {
				const mid = (lo + hi) >> 1;
				const s = fresh[mid] as Struct;
				if (id.clock < s.id.clock) hi = mid - 1;
				else if (id.clock >= s.id.clock + s.length) lo = mid + 1;
				else return s;
			}
			return undefined;
		}
		if (id.clock >= Y.getState(this.doc.store, id.client)) return undefined;
		const structs = this.doc.store.clients.get(id.client) as (Y.Item | Y.GC)[];
		return structs[Y.findIndexSS(structs, id.clock)];
	}

	private findOrRefuse(id: Y.ID): Struct {
		const found = this.find(id);
		if (!found || found instanceof Y.Skip) return refuse('WRITE-2', 'the update refers to unknown content');
		return found;
	}

	/** Where Yjs will put `struct` (a fresh item) or has put it (a document item). */
	private placeOf(struct: Struct): Place | typeof GONE {
		if (!(struct instanceof Y.Item)) return GONE;
		let place = this.places.get(struct);
		if (place) return place;
		place = this.isFresh(struct) ? this.placeFresh(struct) : this.placeStored(struct);
		this.places.set(struct, place);
		return place;
	}

	private isFresh(item: Y.Item): boolean {
		return this.freshSet.has(item);
	}

	/** As Yjs' `Item.getMissing`: a collected origin or parent makes the item collected too. */
	private placeFresh(item: Y.Item): Place | typeof GONE {
		const left = item.origin ? this.findOrRefuse(item.origin) : undefined;
		const right = item.rightOrigin ? this.findOrRefuse(item.rightOrigin) : undefined;
		if (left instanceof Y.GC || right instanceof Y.GC) return GONE;
		const parent = item.parent as Y.ID | string | null;
		if (parent === null) {
			const neighbour = (left ?? right) as Y.Item | undefined;
			if (!neighbour) return refuse('WRITE-2', 'an item without a parent');
			return this.placeOf(neighbour);
		}
		if (typeof parent === 'string') return { root: parent, entity: null, key: item.parentSub };
		const parentItem = this.findOrRefuse(parent);
		if (parentItem instanceof Y.GC) return GONE;
		return this.nestedIn(parentItem as Y.Item, item.parentSub);
	}

	private placeStored(item: Y.Item): Place | typeof GONE {
		const type = item.parent as Y.AbstractType<unknown> | null;
		if (!type) return GONE;
		if (type._item === null) {
			return { root: this.rootNames.get(type) ?? '', entity: null, key: item.parentSub };
		}
		return this.nestedIn(type._item, item.parentSub);
	}

	/** An item in the map held by `parent`: only one level of nesting exists (a material in its list). */
	private nestedIn(parent: Y.Item, key: string | null): Place | typeof GONE {
		const outer = this.placeOf(parent);
		if (outer === GONE) return GONE;
		if (outer.entity !== null || outer.key === null) refuse('WRITE-3', 'nested too deep');
		if (!(parent.content instanceof Y.ContentType)) refuse('WRITE-3', 'a parent that is no type');
		return { root: outer.root, entity: outer.key, key };
	}

	/** WRITE-2: a deletion names only content the document or the update has. */
	private readDeletes(ds: DeleteSet): void {
		for (const [client, ranges] of ds.clients) {
			const stored = Y.getState(this.doc.store, client);
			const fresh = this.fresh.get(client);
			const last = fresh?.[fresh.length - 1];
			const end = last ? last.id.clock + last.length : stored;
			for (const { clock, len } of ranges) {
				if (len <= 0 || clock + len > end)
					refuse('WRITE-2', 'the update deletes content the server does not have');
				for (let at = clock; at < clock + len; ) {
					const struct = this.find(new Y.ID(client, at));
					if (!struct || struct instanceof Y.Skip) refuse('WRITE-2', 'the update deletes unknown content');
					at = struct.id.clock + struct.length;
					if (!(struct instanceof Y.Item) || struct.deleted) continue;
					if (this.isFresh(struct)) this.deletedFresh.add(struct);
					else this.removeStored(struct);
				}
			}
		}
	}

	/** A live document item the update deletes (or overwrites). */
	private removeStored(item: Y.Item): void {
		const place = this.placeOf(item);
		if (place === GONE || place.root !== this.layout.root || place.key === null) return;
		// TOMB-1/2: a material's id holds one map for life; the app deletes with a tombstone. A map
		// put back by the server would be a new one, and edits other devices made meanwhile to the old
		// map would be collected on arrival (found by ws-fuzz seed 1020797181): so refused, not undone.
		if (this.layout.nested && place.entity === null) {
			refuse('WRITE-3', 'a material map is never deleted or replaced (tombstones delete)');
		}
		const change = this.change(place.entity, place.key);
		change.old ??= { value: lastValue(item) };
	}

	private change(entity: string | null, key: string): Change {
		const id = `${entity ?? ''}\0${key}`;
		let change = this.changes.get(id);
		if (!change) {
			change = { entity, key };
			this.changes.set(id, change);
		}
		return change;
	}

	/** WRITE-3, WRITE-4: every fresh item is checked, whatever it hangs from (WRITE-8). */
	private checkItem(item: Y.Item): void {
		const place = this.placeOf(item);
		if (place === GONE) return;
		if (place.root !== this.layout.root) refuse('WRITE-3', 'unknown top-level type');
		if (place.key === null) refuse('WRITE-3', 'list content in a map');
		const key = place.key as string;
		if (!this.layout.nested && place.entity !== null) refuse('WRITE-3', 'a nested type in an entity map');
		if (item.content instanceof Y.ContentDeleted) return;
		const isMaterial = this.layout.nested && place.entity === null;
		if (isMaterial) {
			if (!isUuid(key)) refuse('WRITE-3', 'a material id is a UUID');
			if (!(item.content instanceof Y.ContentType) || !(item.content.type instanceof Y.Map)) {
				refuse('WRITE-3', 'a material is a map');
			}
		} else {
			if (!(item.content instanceof Y.ContentAny)) refuse('WRITE-3', 'an entry is a JSON value');
			for (const value of (item.content as Y.ContentAny).arr) {
				const malformed = malformedEntry(
					this.ref.kind,
					key,
					value,
					this.user,
					this.options.nowMs,
					this.limits
				);
				if (malformed) refuse(malformed.rule, malformed.message);
			}
		}
		// Overwriting a key removes its live value, as Yjs' integrate does (`left.delete`).
		const left = item.origin ? this.find(item.origin) : undefined;
		if (left instanceof Y.Item && !left.deleted && !this.isFresh(left) && left.parentSub === key) {
			this.removeStored(left);
		}
		if (this.deletedFresh.has(item)) return;
		const change = this.change(place.entity, key);
		change.newItem = item;
		change.newValue = lastValue(item);
	}

	/** WRITE-7: the role rules, per entity field; a refused field has every change to it undone. */
	private judge(): ForbiddenChange[] {
		const byField = new Map<string, { refusal?: EntityRefusal; changes: Change[] }>();
		const forbidden: ForbiddenChange[] = [];
		const entityId = this.ref.id;
		for (const change of this.changes.values()) {
			// A new material map: its entries are judged as changes of their own (WRITE-8).
			if (this.layout.nested && change.entity === null) continue;
			const field = keyField(change.key);
			const id = `${change.entity ?? ''}\0${field}`;
			let group = byField.get(id);
			if (!group) {
				group = { changes: [] };
				byField.set(id, group);
			}
			group.changes.push(change);
			if (group.refusal) continue;
			const action: KeyChange['action'] = change.newItem ? (change.old ? 'update' : 'add') : 'delete';
			const refusal = refuseEntityChange(
				this.user,
				this.ref.kind,
				{ key: change.key, action, newValue: change.newValue },
				this.noteAuthor(change.entity)
			);
			if (refusal) group.refusal = { ...refusal, entityId: change.entity ?? entityId };
		}
		for (const { refusal, changes } of byField.values()) {
			if (!refusal) continue;
			const undo = changes.map((c): Undo => {
				const hasOld = c.old !== undefined;
				return {
					entity: c.entity,
					key: c.key,
					hasOld,
					...(c.newItem ? { newItem: c.newItem.id } : {}),
					...(hasOld ? { oldValue: c.old?.value } : {})
				};
			});
			forbidden.push({ refusal, undo });
		}
		return forbidden;
	}

	/** A note's author, from the document or from this very update (a note added and hidden at once). */
	private noteAuthor(entity: string | null): NoteAuthor {
		return (field, scope, noteId) => {
			const key = entryKey(field, ...scope, '+', noteId);
			const fresh = this.changes.get(`${entity ?? ''}\0${key}`)?.newValue;
			const root = this.doc.share.get(this.layout.root);
			const map = root instanceof Y.Map && entity !== null ? root.get(entity) : root;
			const note = fresh ?? (map instanceof Y.Map ? map.get(key) : undefined);
			return typeof note === 'object' && note !== null ? String((note as { u?: unknown }).u) : undefined;
		};
	}
}

function lastValue(item: Y.Item): unknown {
	const content = item.content.getContent();
	return content[content.length - 1];
}
