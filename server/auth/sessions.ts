import type { Db } from '../db/port.ts';
import type { Role } from './roles.ts';
import { isUserId, type User } from './users.ts';

/**
 * The session store (docs/server-rules.md "Sessions", migrations/006_sessions.sql): revoked token
 * ids (SES-1), a per-user "sessions valid after" instant (SES-2) and the disabled flag (SES-3).
 * Tokens stay signed and self-contained; this is only what can end them before they expire.
 */

/** What decides whether one token of one user is still good. */
export interface SessionState {
	user: User;
	/** Tokens issued at or before this (epoch ms) are refused; null when never revoked. */
	validAfterMs: number | null;
	/** This very token was logged out. */
	tokenRevoked: boolean;
}

interface StateRow {
	id: string;
	email: string;
	name: string;
	role: Role;
	created_at: Date | string;
	disabled: boolean;
	valid_after_ms: number | string | null;
	token_revoked: boolean;
}

/** One query: the user, their revocation instant, and whether `tokenId` was logged out. */
export async function loadSessionState(
	db: Db,
	userId: string,
	tokenId: string
): Promise<SessionState | null> {
	if (!isUserId(userId) || !isUserId(tokenId)) return null;
	const { rows } = await db.query<StateRow>(
		`SELECT id, email, name, role, created_at, disabled,
		        (extract(epoch FROM sessions_valid_after) * 1000)::float8 AS valid_after_ms,
		        EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2::uuid) AS token_revoked
		   FROM users WHERE id = $1::uuid`,
		[userId, tokenId]
	);
	const row = rows[0];
	if (!row) return null;
	return {
		user: {
			id: row.id,
			email: row.email,
			name: row.name,
			role: row.role,
			createdAt: new Date(row.created_at),
			disabled: row.disabled === true
		},
		validAfterMs: row.valid_after_ms === null ? null : Number(row.valid_after_ms),
		tokenRevoked: row.token_revoked === true
	};
}

/**
 * SES-1: logs one token out. Idempotent. Rows of tokens that have expired anyway are pruned in the
 * same call (the signature check refuses those on its own), so the table stays as small as the set
 * of live logged-out tokens.
 */
export async function revokeToken(
	db: Db,
	token: { tokenId: string; userId: string; expiresAtMs: number }
): Promise<void> {
	await db.query(
		`INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1::uuid, $2::uuid, to_timestamp($3::float8 / 1000))
		 ON CONFLICT (jti) DO NOTHING`,
		[token.tokenId, token.userId, token.expiresAtMs]
	);
	await db.query('DELETE FROM revoked_tokens WHERE expires_at < now()');
}

/**
 * SES-2: refuses every token of the user issued at or before `atMs` (never moves the instant
 * back). Returns false when there is no such user.
 */
export async function revokeSessions(db: Db, userId: string, atMs: number): Promise<boolean> {
	if (!isUserId(userId)) return false;
	const { rows } = await db.query<{ id: string }>(
		`UPDATE users SET sessions_valid_after = GREATEST(sessions_valid_after, to_timestamp($2::float8 / 1000))
		  WHERE id = $1::uuid RETURNING id`,
		[userId, atMs]
	);
	return rows.length > 0;
}

/**
 * SES-3: disables or enables a user. Disabling also revokes every session issued until now, so
 * enabling the user again later does not bring an old (perhaps stolen) token back to life.
 * Returns false when there is no such user.
 */
export async function setUserDisabled(
	db: Db,
	userId: string,
	disabled: boolean,
	atMs: number
): Promise<boolean> {
	if (!isUserId(userId)) return false;
	const { rows } = await db.query<{ id: string }>(
		disabled
			? `UPDATE users SET disabled = true,
			          sessions_valid_after = GREATEST(sessions_valid_after, to_timestamp($2::float8 / 1000))
			    WHERE id = $1::uuid RETURNING id`
			: 'UPDATE users SET disabled = false WHERE id = $1::uuid AND $2::float8 IS NOT NULL RETURNING id',
		[userId, atMs]
	);
	return rows.length > 0;
}

/** SES-6: changes a user's role. Returns false when there is no such user. */
export async function setUserRole(db: Db, userId: string, role: Role): Promise<boolean> {
	if (!isUserId(userId)) return false;
	const { rows } = await db.query<{ id: string }>(
		'UPDATE users SET role = $2 WHERE id = $1::uuid RETURNING id',
		[userId, role]
	);
	return rows.length > 0;
}
