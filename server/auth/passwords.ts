import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { compareOnThread } from './bcrypt-thread.ts';
import { authDefaults } from './defaults.ts';
import { OneAtATime } from './one-at-a-time.ts';

const pbkdf2Async = promisify(pbkdf2);

/**
 * Password hashes are PBKDF2-HMAC-SHA256 (OWASP's 600,000 iterations), written
 * `$pbkdf2-sha256$i=<iterations>$<salt, base64>$<key, base64>`. Node computes them natively on
 * libuv's thread pool, so a login never runs its hash on the event loop (LOGIN-4) and needs no
 * isolate of its own: the bcryptjs worker thread this replaced cost 16 MB of RSS for the life of
 * the process after the first login (2026-12-03, RSS of a process before and after three compares),
 * where PBKDF2 costs none (90 ms of CPU per hash here against bcryptjs cost 10's 83 ms). scrypt
 * was measured too and refused: its 16 MB per hash stays in each pool thread's malloc arena (+66 MB
 * after 20 hashes).
 *
 * Hashes written before (bcrypt, `$2a$`/`$2b$`/`$2y$`) still verify, on the bcrypt thread started
 * only for them, and a login that verifies one replaces it (`needsRehash`, routes-auth.ts).
 */
const PREFIX = '$pbkdf2-sha256$';
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/**
 * One hash at a time, as on the bcrypt thread before: libuv's pool runs 4 at once, which in a login
 * flood would take every core of a small server from the event loop (LOGIN-4 bounds that share).
 */
const hashing = new OneAtATime();

function derive(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
	return hashing.run(() => pbkdf2Async(password.normalize('NFC'), salt, iterations, KEY_BYTES, 'sha256'));
}

/** Hashes a password with a fresh salt; `iterations` below the default are for tests only. */
export async function hashPassword(
	password: string,
	iterations: number = authDefaults.passwordIterations
): Promise<string> {
	const salt = randomBytes(SALT_BYTES);
	const key = await derive(password, salt, iterations);
	return `${PREFIX}i=${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash {
	iterations: number;
	salt: Buffer;
	key: Buffer;
}

function parse(hash: string): ParsedHash | null {
	if (!hash.startsWith(PREFIX)) return null;
	const [params, salt, key, ...rest] = hash.slice(PREFIX.length).split('$');
	const iterations = Number(/^i=(\d{1,8})$/.exec(params ?? '')?.[1]);
	if (rest.length > 0 || !Number.isSafeInteger(iterations) || iterations < 1 || !salt || !key) return null;
	const parsed = { iterations, salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
	return parsed.salt.length > 0 && parsed.key.length === KEY_BYTES ? parsed : null;
}

const isBcrypt = (hash: string) => /^\$2[aby]\$/.test(hash);

/**
 * True when `password` matches `hash`; false for any malformed hash rather than throwing. Never on
 * the event loop: PBKDF2 on libuv's pool, a bcrypt hash on the bcrypt thread (bcrypt-thread.ts).
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
	if (isBcrypt(hash)) return compareOnThread(password, hash).catch(() => false);
	const parsed = parse(hash);
	if (!parsed) return false;
	const key = await derive(password, parsed.salt, parsed.iterations);
	return timingSafeEqual(key, parsed.key);
}

/**
 * True for a hash a successful login should replace: one of another scheme. Fewer iterations are
 * left alone (tests create users with few; raising the default is then a separate migration).
 */
export function needsRehash(hash: string): boolean {
	return !hash.startsWith(PREFIX);
}

// A real hash of a random string, computed once. Login compares against it when the email is
// unknown so that "no such user" and "wrong password" take the same time and cannot be told apart.
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
	dummyHash ??= hashPassword(crypto.randomUUID());
	return dummyHash;
}
