/**
 * Value normalisation shared by both adapters, so code above the port sees the same JS types
 * whichever engine runs:
 * - `bytea` → plain `Uint8Array` (pg would give a `Buffer`; `toEqual` and `instanceof Buffer`
 *   would then differ between engines).
 * - `int8` (bigint, bigserial, count(*)) → JS `number` while it is a safe integer (|n| ≤ 2^53−1),
 *   otherwise a JS `bigint` rather than a silently rounded number. This is what PGlite does
 *   natively; the pg adapter is configured to match (pg's default is a string).
 * - `numeric` stays a string on both (exact decimals).
 */

/** Parses the text form of an int8: `number` when safe, `bigint` when not (never rounded). */
export function parseInt8(text: string): number | bigint {
	const n = Number(text);
	return Number.isSafeInteger(n) ? n : BigInt(text);
}

/** A `Uint8Array` view over the same bytes (no copy) — turns a `Buffer` into a plain array. */
export function toPlainBytes(bytes: Uint8Array): Uint8Array {
	return bytes.constructor === Uint8Array
		? bytes
		: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
