/**
 * Canonical JSON (docs/rest-api.md "Checksums"): keys sorted at every level, no whitespace.
 * Isomorphic (no Node imports) so the client library computes the very same string; the hash itself
 * is `sha256Hex` (Web Crypto, available in Node ≥ 20 and browsers).
 */
export function canonicalJson(value: unknown): string {
	if (value === null || typeof value !== 'object') {
		// JSON.stringify(undefined) is undefined; an absent value serializes as null, as in arrays.
		return JSON.stringify(value) ?? 'null';
	}
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	const entries = Object.entries(value as Record<string, unknown>)
		.filter(([, v]) => v !== undefined)
		.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 (lower-case hex) of the UTF-8 bytes of `text`. */
export async function sha256Hex(text: string): Promise<string> {
	const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The checksum of one entity exactly as pulled: sha256 of its canonical JSON. */
export function entityChecksum(entity: unknown): Promise<string> {
	return sha256Hex(canonicalJson(entity));
}
