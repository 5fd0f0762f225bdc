/**
 * Short random ids for register entries and notes. `crypto.getRandomValues` rather than
 * `randomUUID`: the latter exists only in secure contexts, and crews open the app on plain
 * http LAN addresses too.
 *
 * The bytes come from a pool filled `poolBytes` at a time: one `getRandomValues` call per id was
 * 5 % of a REST push's CPU (bench:api profile: each register write draws an id, and Node's
 * webcrypto call costs far more than its 10 bytes). Still a CSPRNG's bytes, each used once.
 */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Random bytes drawn per `getRandomValues` call (its per-call limit is 65,536). */
const poolBytes = 4096;
const pool = new Uint8Array(poolBytes);
/** Next unused byte of `pool`; `poolBytes`: used up. */
let next = poolBytes;

export function randomId(length = 10): string {
	let id = '';
	for (let i = 0; i < length; i++) {
		if (next === poolBytes) {
			crypto.getRandomValues(pool);
			next = 0;
		}
		id += ALPHABET[(pool[next++] as number) % ALPHABET.length];
	}
	return id;
}
