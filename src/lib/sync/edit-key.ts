import type * as Y from 'yjs';

/**
 * What one transaction changed, as `entity|field` pairs: the pending counter merges a burst of
 * changes only when they touch the same thing (crdt/keys.ts: an entry key is `<field>|<parts…>`;
 * a material's map sits under its id in the list's root map).
 */
export function editKey(tr: Y.Transaction): string {
	const parts = new Set<string>();
	for (const [type, keys] of tr.changed) {
		const owner =
			(type as unknown as { _item?: { parentSub?: string | null } | null })._item?.parentSub ?? '';
		for (const key of keys) if (key !== null) parts.add(`${owner}|${key.split('|')[0]}`);
	}
	return [...parts].sort().join(',');
}
