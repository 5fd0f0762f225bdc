import bcrypt from 'bcryptjs';
import { compareOnThread } from './bcrypt-thread.ts';
import { authDefaults } from './defaults.ts';

/** Hashes a password with bcrypt (salt included in the result). */
export function hashPassword(password: string, cost: number = authDefaults.bcryptCost): Promise<string> {
	return bcrypt.hash(password, cost);
}

/**
 * True when `password` matches `hash`; false for any malformed hash rather than throwing.
 * Runs on the bcrypt thread (bcrypt-thread.ts), never on the event loop.
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
	try {
		return await compareOnThread(password, hash);
	} catch {
		return false;
	}
}

// A real bcrypt hash of a random string, computed once. Login compares against it when the email is
// unknown so that "no such user" and "wrong password" take the same time and cannot be told apart.
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
	dummyHash ??= hashPassword(crypto.randomUUID());
	return dummyHash;
}
