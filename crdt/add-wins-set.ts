import { isStamp, type Stamp } from './entry.ts';
import { randomId } from './ids.ts';
import { entryKey } from './keys.ts';
import { fieldEntries, keysOf } from './map-index.ts';
import type { EntityMap, Seen } from './register.ts';
import { SEEN_ALL } from './register.ts';

/**
 * Add-wins set (job crew assignments). Each add is its own key `<field>|<member>|<id>`; a remove
 * deletes only the adds its replica has seen, so an add concurrent with a remove survives
 * (SPEC ASG-4) — the spec's JobAssignmentResolver "additive strategy". A member is in the set
 * while any of its add keys is live.
 */
export function addMember(map: EntityMap, field: string, member: string, stamp: Stamp): void {
	map.set(entryKey(field, member, randomId()), stamp);
}

export function removeMember(map: EntityMap, field: string, member: string, seen: Seen = SEEN_ALL): void {
	for (const key of keysOf(map, field, member)) if (seen(key)) map.delete(key);
}

/** Replace: remove every seen member not in `members`, add the ones not present (SPEC ASG-3). */
export function replaceMembers(
	map: EntityMap,
	field: string,
	members: readonly string[],
	stamp: Stamp,
	seen: Seen = SEEN_ALL
): void {
	const current = readMembers(map, field);
	for (const member of current) if (!members.includes(member)) removeMember(map, field, member, seen);
	for (const member of members) if (!current.includes(member)) addMember(map, field, member, stamp);
}

export function readMembers(map: EntityMap, field: string): string[] {
	const members = new Set<string>();
	const { keys, values } = fieldEntries(map, field);
	for (let i = 0; i < keys.length; i++) {
		const member = (keys[i] as string).split('|')[1];
		if (member && isStamp(values[i])) members.add(member);
	}
	return [...members].sort();
}
