import * as Y from 'yjs';
import { compareStamps, isStamp, type Stamp } from './entry.ts';
import { randomId } from './ids.ts';
import { entryKey } from './keys.ts';
import { fieldEntries, keysOf, mapIndex, remembered } from './map-index.ts';
import type { JsonScalar, RegisterEntry } from './resolvers.ts';

/**
 * Observed-remove multi-value register over a Y.Map (docs/merge-rules.md "The observed-remove multi-value register"). Each write deletes
 * every entry its replica has seen and adds its own under a fresh key. After any merge the entries
 * left are exactly the writes no other write has seen — the concurrent ones — and a resolver picks
 * the value (SPEC REG-1). A write that has seen the others (an un-tick after the tick, a deliberate
 * decrease) therefore simply replaces them.
 */
export type EntityMap = Y.Map<unknown>;

/** Which existing keys a write has seen. Local writes have seen everything. */
export type Seen = (key: string) => boolean;

export const SEEN_ALL: Seen = () => true;

export function readRegister(map: EntityMap, field: string): RegisterEntry[] {
	const entries = fieldEntries(map, field);
	const sorted = remembered(entries, readRegister, () => {
		const live: RegisterEntry[] = [];
		for (const value of entries.values) if (isRegisterEntry(value)) live.push(value);
		// Y.Map iteration follows local integration order, which differs between replicas.
		return live.sort(compareStamps);
	});
	// A copy: the memo lives as long as this state of the field, whatever the caller does with it.
	return sorted.slice();
}

export function writeRegister(
	map: EntityMap,
	field: string,
	value: JsonScalar,
	stamp: Stamp,
	seen: Seen = SEEN_ALL
): void {
	const entry: RegisterEntry = { ...stamp, v: value };
	replaceSeen(map, field, entry, seen);
}

/**
 * A touch (SPEC DUR-1): a register write of the bare stamp. No `v`, so `readRegister` never sees
 * it as a value, and it costs one small entry; deleting the touches seen leaves only concurrent
 * ones live, like any register.
 */
export function writeTouch(map: EntityMap, field: string, stamp: Stamp, seen: Seen = SEEN_ALL): void {
	replaceSeen(map, field, { ...stamp }, seen);
}

/** The register write (SPEC REG-1, REG-2): delete the entries seen, add `entry` under a fresh key. */
function replaceSeen(map: EntityMap, field: string, entry: Stamp, seen: Seen): void {
	for (const key of keysOf(map, field)) if (seen(key)) map.delete(key);
	map.set(entryKey(field, randomId()), entry);
}

function isRegisterEntry(value: unknown): value is RegisterEntry {
	return isStamp(value) && 'v' in value;
}

/**
 * The state vector a write based on this state of `map` needs for `seenWithin(map, …)` to say it has
 * seen exactly the entries live now: the document's clock of each client that wrote one of them. For
 * `map` it is equivalent to the whole document's state vector — a key live now lies below its
 * client's clock; a key written later lies at or past it, or belongs to a client not named (a
 * deleted key is never live again) — but it names the few clients of one entity, where the
 * document's names every app session that ever wrote it: thousands for a job edited for months,
 * stored with every version of every entity (docs/rest-api.md "Versions"). Reads the live keys from
 * the map index: the map itself keeps every key ever written (map-index.ts).
 */
export function stateVectorSeenBy(map: EntityMap): Map<number, number> {
	const items = itemsOf(map);
	const store = (map.doc as Y.Doc).store;
	const stateVector = new Map<number, number>();
	for (const { keys } of mapIndex(map).fields.values()) {
		for (const key of keys) {
			const client = items.get(key)?.id.client;
			if (client !== undefined && !stateVector.has(client))
				stateVector.set(client, Y.getState(store, client));
		}
	}
	return stateVector;
}

/**
 * `Seen` for a write based on an older state of the document, described by its state vector: it
 * has seen exactly the entries created inside that state vector (docs/rest-api.md "Versions").
 * Reads the Yjs item id behind a map key — `_map` is internal to Yjs 13, but it is the
 * only place the id of a map entry lives, and the REST API's version semantics depend on it.
 */
export function seenWithin(map: EntityMap, stateVector: Map<number, number>): Seen {
	const items = itemsOf(map);
	return (key) => {
		const item = items.get(key);
		return item !== undefined && (stateVector.get(item.id.client) ?? 0) > item.id.clock;
	};
}

/** The Yjs item behind each key of `map` (`_map`, internal to Yjs 13: see `seenWithin`). */
function itemsOf(map: EntityMap): ReadonlyMap<string, { readonly id: { client: number; clock: number } }> {
	return (map as unknown as { _map: Map<string, { id: { client: number; clock: number } }> })._map;
}
