import { randomUUID } from 'node:crypto';
import type { Db } from '../db/port.ts';
import { authDefaults } from './defaults.ts';
import { hashPassword } from './passwords.ts';
import { type AuthUser, isRole, type Role, roles } from './roles.ts';

/** A stored user without the password hash. */
export interface User extends AuthUser {
	email: string;
	createdAt: Date;
	/** SES-3: a disabled user cannot log in and every token of theirs is refused. */
	disabled: boolean;
}

/** A stored user including the password hash; only login needs it. */
export interface UserWithHash extends User {
	passwordHash: string;
}

export type UserErrorCode =
	| 'invalid_email'
	| 'invalid_name'
	| 'invalid_role'
	| 'invalid_password'
	| 'email_taken';

/** Invalid input for creating a user. `field` names the offending input field. */
export class UserError extends Error {
	override readonly name = 'UserError';
	constructor(
		readonly code: UserErrorCode,
		readonly field: 'email' | 'name' | 'role' | 'password',
		message: string
	) {
		super(message);
	}
}

export interface NewUser {
	email: string;
	name: string;
	role: Role | string;
	password: string;
}

// Deliberately loose: one @, something on both sides, a dot in the domain. Real validation of an
// address is sending mail to it; this only catches typos like a missing @.
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(email: string): string {
	return email.trim().toLowerCase();
}

/** Checks new-user input; throws `UserError` naming the first bad field. */
export function validateNewUser(input: NewUser): {
	email: string;
	name: string;
	role: Role;
	password: string;
} {
	const email = normalizeEmail(String(input.email ?? ''));
	if (!emailPattern.test(email) || email.length > 254) {
		throw new UserError('invalid_email', 'email', `"${input.email}" is not a valid email address`);
	}
	const name = String(input.name ?? '').trim();
	if (name === '' || name.length > 200) {
		throw new UserError('invalid_name', 'name', 'name must be 1–200 characters');
	}
	if (!isRole(input.role)) {
		throw new UserError('invalid_role', 'role', `role must be one of ${roles.join(', ')}`);
	}
	const password = String(input.password ?? '');
	if (password.length < authDefaults.minPasswordLength) {
		throw new UserError(
			'invalid_password',
			'password',
			`password must be at least ${authDefaults.minPasswordLength} characters`
		);
	}
	if (Buffer.byteLength(password, 'utf8') > authDefaults.maxPasswordBytes) {
		throw new UserError(
			'invalid_password',
			'password',
			`password must be at most ${authDefaults.maxPasswordBytes} bytes`
		);
	}
	return { email, name, role: input.role, password };
}

interface UserRow {
	id: string;
	email: string;
	name: string;
	role: Role;
	password_hash: string;
	created_at: Date | string;
	disabled: boolean;
}

function toUser(row: UserRow): UserWithHash {
	return {
		id: row.id,
		email: row.email,
		name: row.name,
		role: row.role,
		createdAt: new Date(row.created_at),
		disabled: row.disabled === true,
		passwordHash: row.password_hash
	};
}

function withoutHash({ passwordHash: _, ...user }: UserWithHash): User {
	return user;
}

/** Creates a user; throws `UserError` for invalid input or an email already in use. */
export async function createUser(
	db: Db,
	input: NewUser,
	options: { passwordIterations?: number } = {}
): Promise<User> {
	const valid = validateNewUser(input);
	const hash = await hashPassword(valid.password, options.passwordIterations);
	const { rows } = await db.query<UserRow>(
		`INSERT INTO users (id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (email) DO NOTHING
		 RETURNING id, email, name, role, password_hash, created_at, disabled`,
		[randomUUID(), valid.email, valid.name, valid.role, hash]
	);
	const row = rows[0];
	if (!row) throw new UserError('email_taken', 'email', `a user with email ${valid.email} already exists`);
	return withoutHash(toUser(row));
}

const columns = 'id, email, name, role, password_hash, created_at, disabled';

/** The user with this email (any case), hash included, or null. */
export async function findUserByEmail(db: Db, email: string): Promise<UserWithHash | null> {
	const { rows } = await db.query<UserRow>(`SELECT ${columns} FROM users WHERE email = $1`, [
		normalizeEmail(email)
	]);
	return rows[0] ? toUser(rows[0]) : null;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a string the `users.id` column can hold (a UUID). */
export function isUserId(id: string): boolean {
	return uuidPattern.test(id);
}

/** The user with this id, or null (also for a string that is not a UUID, instead of a SQL error). */
export async function findUserById(db: Db, id: string): Promise<User | null> {
	if (!uuidPattern.test(id)) return null;
	const { rows } = await db.query<UserRow>(`SELECT ${columns} FROM users WHERE id = $1`, [id]);
	return rows[0] ? withoutHash(toUser(rows[0])) : null;
}

/** Number of users; the demo seed only runs on an empty table. */
export async function countUsers(db: Db): Promise<number> {
	const { rows } = await db.query<{ n: number | string }>('SELECT count(*)::int AS n FROM users');
	return Number(rows[0]?.n ?? 0);
}

/** Every user, without hashes, by name: the owner's team list (`GET /api/team`). */
export async function listUsers(db: Db): Promise<User[]> {
	const { rows } = await db.query<UserRow>(`SELECT ${columns} FROM users ORDER BY name, id`);
	return rows.map((row) => withoutHash(toUser(row)));
}

/**
 * Replaces a user's password hash with `next` while it is still `previous`: a login upgrading a hash
 * of an older scheme (passwords.ts `needsRehash`). Two logins at once upgrade it once; a hash
 * changed meanwhile is left as it is.
 */
export async function replacePasswordHash(
	db: Db,
	userId: string,
	previous: string,
	next: string
): Promise<void> {
	await db.query('UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2', [
		userId,
		previous,
		next
	]);
}
