/**
 * Layout of an entity's Y.Map. Every write lives under its own key, `<field>|<id…>`, so concurrent
 * writers never collide on a Y.Map key: Yjs resolves same-key concurrent sets by clientID
 * (docs/pitfalls.md "Yjs"), which would silently drop one writer's value. The server reads the field
 * and owner segments back out of keys to enforce field-level write rules.
 */
export const KEY_SEPARATOR = '|';

export function entryKey(field: string, ...parts: string[]): string {
	return [field, ...parts].join(KEY_SEPARATOR);
}

export interface ParsedKey {
	readonly field: string;
	readonly parts: readonly string[];
}

export function parseKey(key: string): ParsedKey {
	// One array, not the split's plus a rest copy: the write guard parses every key an update writes.
	const parts = key.split(KEY_SEPARATOR);
	const field = parts.shift() ?? '';
	return { field, parts };
}

/** `parseKey(key).field` without the parts (map-index.ts groups every key it reads by it). */
export function keyField(key: string): string {
	const end = key.indexOf(KEY_SEPARATOR);
	return end === -1 ? key : key.slice(0, end);
}
