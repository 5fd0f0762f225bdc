import type * as Y from 'yjs';
import { entryKey, KEY_SEPARATOR, keyField } from './keys.ts';

/**
 * The live entries of an entity's Y.Map grouped by field, kept up to date from what Yjs records a
 * transaction changed. An entity's map keeps every key ever written — a register write adds a fresh
 * key and only marks the old one deleted (register.ts) — so after some edits most of its keys are
 * dead, and each field read used to scan all of them, once per field and read: two thirds of the
 * CPU of reading a material after a remote edit, and re-reading a whole list cost ~40× a plain
 * Y.Map (README "Performance", `npm run bench:crdt`).
 *
 * Exactness rests on Yjs's own record of the keys a transaction changed (`Transaction.changed`,
 * filled as each item is integrated or deleted), never on event order: the index is brought up to
 * date lazily, by whichever comes first of the next transaction's start or the next read, so an
 * observer that reads during the cleanup of the transaction that changed the map already sees the
 * change. Only the changed keys are re-read, and only their fields' memos dropped. What `changed`
 * leaves out — a map created in the transaction, a deleted map — is never served from the cache,
 * and inside a transaction a map it has changed is read afresh. Views still hold no state of their
 * own (documents.ts): this caches reads of the Y.Doc, and each state of a map gets a new index.
 */
export interface MapIndex {
	/** Live entries of each field (the key segment before the first separator). */
	readonly fields: ReadonlyMap<string, FieldEntries>;
	/** Every live value of the map. */
	readonly values: readonly unknown[];
	/** Reads derived from this state of the whole map (an entity's JSON): see `remembered`. */
	memo?: unknown[];
}

/** One field's live keys and their values, index for index; never changed once made. */
export interface FieldEntries {
	readonly keys: readonly string[];
	readonly values: readonly unknown[];
	/** Reads derived from this state of the field alone (a register's resolution): see `remembered`. */
	memo?: unknown[];
}

/**
 * What `owner` (an index, or a field's entries) remembers under `key`, computed by `compute` the
 * first time. A flat key/value list, made on first use: an index lives from one change of its map
 * to the next, holds two or three reads, and a Map each would be most of its allocation.
 */
export function remembered<T>(owner: MapIndex | FieldEntries, key: unknown, compute: () => T): T {
	const memo = owner.memo;
	if (memo) for (let i = 0; i < memo.length; i += 2) if (memo[i] === key) return memo[i + 1] as T;
	const value = compute();
	if (memo) memo.push(key, value);
	else owner.memo = [key, value];
	return value;
}

const noEntries = (): FieldEntries => ({ keys: [], values: [] });

/** The Yjs internals read here: public fields of `Y.Map` and `Y.Transaction`, typed loosely by Yjs. */
interface MapInternals {
	readonly _item: { readonly deleted: boolean } | null;
	readonly _map: Map<string, { readonly deleted: boolean }>;
}

interface Cached {
	readonly index: MapIndex;
	/** The Y.Map's key table it was read from: Yjs replaces it when it garbage-collects the map. */
	readonly table: MapInternals['_map'];
}

interface DocCache {
	readonly maps: WeakMap<object, Cached>;
	/** The latest transaction begun since the cache was last brought up to date. */
	pending: Y.Transaction | null;
}

const docs = new WeakMap<Y.Doc, DocCache>();

export function mapIndex(map: Y.Map<unknown>): MapIndex {
	const doc = map.doc;
	// A map not in a document yet, or deleted (whose changes Yjs stops recording): read it afresh.
	if (!doc || internals(map)._item?.deleted) return buildIndex(map);
	const cache = docCache(doc);
	const current = doc._transaction;
	const cached = cache.maps.get(map);
	if (current !== null) {
		// The cached index is the map before this transaction: good while the transaction has not
		// touched the map (`changed` lists it from its first change on), and brought up to date after.
		return cached && !changedIn(current).has(map) ? cached.index : buildIndex(map);
	}
	if (cached && cached.table === internals(map)._map) return cached.index;
	// Stored only between transactions: a map created inside one is absent from its `changed`.
	const index = buildIndex(map);
	cache.maps.set(map, { index, table: internals(map)._map });
	return index;
}

/** The live entries of `field` in `map`; shared with the cache, so never to be changed. */
export function fieldEntries(map: Y.Map<unknown>, field: string): FieldEntries {
	return mapIndex(map).fields.get(field) ?? noEntries();
}

/**
 * Keys of `map` that belong to `field` (optionally narrowed by further key segments): a copy, so a
 * caller may delete them as it goes.
 */
export function keysOf(map: Y.Map<unknown>, field: string, ...parts: string[]): string[] {
	const { keys } = fieldEntries(map, field);
	if (parts.length === 0) return keys.slice();
	const prefix = entryKey(field, ...parts) + KEY_SEPARATOR;
	return keys.filter((key) => key.startsWith(prefix));
}

function docCache(doc: Y.Doc): DocCache {
	let cache = docs.get(doc);
	if (!cache) {
		// Installed on the first read, possibly inside a transaction: that one is pending too.
		const created: DocCache = { maps: new WeakMap(), pending: doc._transaction };
		doc.on('beforeTransaction', (transaction: Y.Transaction) => {
			settle(created);
			created.pending = transaction;
		});
		docs.set(doc, created);
		cache = created;
	} else if (cache.pending !== null && cache.pending !== doc._transaction) {
		settle(cache);
	}
	return cache;
}

/** Brings the index of every map the pending (finished) transaction changed up to date. */
function settle(cache: DocCache): void {
	const done = cache.pending;
	if (done === null) return;
	cache.pending = null;
	for (const [type, keys] of changedIn(done)) {
		const cached = cache.maps.get(type);
		if (!cached) continue;
		const map = type as Y.Map<unknown>;
		if (internals(map)._item?.deleted || cached.table !== internals(map)._map) cache.maps.delete(type);
		else cache.maps.set(type, { index: patched(map, cached.index, keys), table: cached.table });
	}
}

/** `index` with the entries under `changedKeys` re-read from `map`; the other fields' memos kept. */
function patched(map: Y.Map<unknown>, index: MapIndex, changedKeys: ReadonlySet<string | null>): MapIndex {
	const byField = new Map<string, string[]>();
	for (const key of changedKeys) {
		// A key-less change is to the type's list part, which a Y.Map never shows.
		if (key === null) continue;
		const field = keyField(key);
		const keys = byField.get(field);
		if (keys) keys.push(key);
		else byField.set(field, [key]);
	}
	const fields = new Map(index.fields);
	for (const [field, changed] of byField) {
		const before = fields.get(field) ?? noEntries();
		const keys: string[] = [];
		const values: unknown[] = [];
		for (let i = 0; i < before.keys.length; i++) {
			const key = before.keys[i] as string;
			if (changed.includes(key)) continue;
			keys.push(key);
			values.push(before.values[i]);
		}
		for (const key of changed) {
			if (!map.has(key)) continue;
			keys.push(key);
			values.push(map.get(key));
		}
		if (keys.length === 0) fields.delete(field);
		// Exact-size copies: an array grown by push from empty reserves 17 slots, and most fields hold
		// one live entry (heap snapshot, 200 documents of 5 materials: ~9 KB per document in spare slots).
		else fields.set(field, { keys: keys.slice(), values: values.slice() });
	}
	const values: unknown[] = [];
	for (const entries of fields.values()) for (const value of entries.values) values.push(value);
	return { fields, values };
}

function internals(map: Y.Map<unknown>): MapInternals {
	return map as unknown as MapInternals;
}

/** The types a transaction changed (Yjs types its keys as `AbstractType<YEvent>`, a `Y.Map` among them). */
function changedIn(transaction: Y.Transaction): ReadonlyMap<object, ReadonlySet<string | null>> {
	return transaction.changed as ReadonlyMap<object, ReadonlySet<string | null>>;
}

function buildIndex(map: Y.Map<unknown>): MapIndex {
	const fields = new Map<string, { keys: string[]; values: unknown[] }>();
	const values: unknown[] = [];
	// `forEach` visits live entries only, without the iterator objects `keys()`/`values()` allocate.
	map.forEach((value, key) => {
		values.push(value);
		const field = keyField(key);
		const entries = fields.get(field);
		// Created holding its first entry, sized for one (see `patched`).
		if (!entries) fields.set(field, { keys: [key], values: [value] });
		else {
			entries.keys.push(key);
			entries.values.push(value);
		}
	});
	return { fields, values };
}
