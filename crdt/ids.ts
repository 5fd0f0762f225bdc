/**
 * Short random ids for register entries and notes. `crypto.getRandomValues` rather than
 * `randomUUID`: the latter exists only in secure contexts, and crews open the app on plain
 * http LAN addresses too.
 */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function randomId(length = 10): string {
	const bytes = new Uint8Array(length);
	crypto.getRandomValues(bytes);
	let id = '';
	for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
	return id;
}
