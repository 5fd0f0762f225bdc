/**
 * Whether two JSON values are the same as the sync API compares them: by their `JSON.stringify`.
 * Key order counts: what is compared are field values — scalars, sorted id lists — and entity JSON
 * read through the same crdt views, which list their keys in one order.
 */
export function sameJson(a: unknown, b: unknown): boolean {
	return JSON.stringify(a) === JSON.stringify(b);
}
