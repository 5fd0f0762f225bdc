import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { authDefaults } from './defaults.ts';
import { isRole, type Role } from './roles.ts';

/** Why a token (or the user behind it) was not accepted. */
export type AuthErrorCode =
	| 'missing'
	| 'malformed'
	| 'bad_signature'
	| 'expired'
	| 'unknown_user'
	/** SES-1/SES-2: the token was logged out, or all the user's sessions were revoked after it was issued. */
	| 'revoked'
	/** SES-3: an owner disabled the user. */
	| 'disabled';

/** A rejected credential. `code` is stable and safe to show; the message is for logs and humans. */
export class AuthError extends Error {
	override readonly name = 'AuthError';
	constructor(
		readonly code: AuthErrorCode,
		message: string = defaultMessages[code]
	) {
		super(message);
	}
}

const defaultMessages: Record<AuthErrorCode, string> = {
	missing: 'No token was sent',
	malformed: 'The token is not a valid KHS token',
	bad_signature: 'The token signature does not match',
	expired: 'The token has expired; log in again',
	unknown_user: 'The user of this token no longer exists',
	revoked: 'This session has ended; log in again',
	disabled: 'This user has been disabled'
};

/** What a token asserts. `exp` and `iat` are epoch milliseconds, like every other time in KHS. */
export interface TokenClaims {
	sub: string;
	role: Role;
	name: string;
	exp: number;
	/** Issue time: SES-2 refuses tokens issued at or before the user's `sessions_valid_after`. */
	iat: number;
	/** Token id (a UUID), what logout revokes (SES-1). */
	jti: string;
}

/** What the caller chooses when signing; expiry, issue time and id are the signer's. */
export type TokenSubject = Omit<TokenClaims, 'exp' | 'iat' | 'jti'>;

/** Signs and checks login tokens with one HMAC-SHA256 key. */
export interface TokenSigner {
	/** A token for `claims` that expires `ttlMs` (default `authDefaults.tokenTtlMs`) from now. */
	sign(claims: TokenSubject, ttlMs?: number): string;
	/** The claims of a well-formed, correctly signed, unexpired token; throws `AuthError` otherwise. */
	verify(token: string | null | undefined): TokenClaims;
}

// A version prefix so the format (or the key) can change later without mistaking old tokens.
const prefix = 'v1';

export function createTokenSigner(options: {
	secret: Uint8Array | string;
	ttlMs?: number;
	/** Clock in epoch ms; tests inject one. */
	now?: () => number;
}): TokenSigner {
	const key = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret;
	if (key.byteLength < 16) throw new Error('token signing key must be at least 16 bytes');
	const ttlMs = options.ttlMs ?? authDefaults.tokenTtlMs;
	const now = options.now ?? Date.now;
	const mac = (body: string) => createHmac('sha256', key).update(`${prefix}.${body}`).digest();

	return {
		sign(claims, ttl = ttlMs) {
			const iat = now();
			const full: TokenClaims = {
				sub: claims.sub,
				role: claims.role,
				name: claims.name,
				exp: iat + ttl,
				iat,
				jti: randomUUID()
			};
			const body = Buffer.from(JSON.stringify(full), 'utf8').toString('base64url');
			return `${prefix}.${body}.${mac(body).toString('base64url')}`;
		},
		verify(token) {
			if (token === null || token === undefined || token === '') throw new AuthError('missing');
			const parts = token.split('.');
			if (parts.length !== 3 || parts[0] !== prefix) throw new AuthError('malformed');
			const [, body = '', sig = ''] = parts;
			const given = Buffer.from(sig, 'base64url');
			const expected = mac(body);
			// Length check first: timingSafeEqual throws on unequal lengths; the length of a
			// SHA-256 MAC is public, so branching on it leaks nothing.
			if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) {
				throw new AuthError('bad_signature');
			}
			const claims = parseClaims(body);
			if (claims.exp <= now()) throw new AuthError('expired');
			return claims;
		}
	};
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseClaims(body: string): TokenClaims {
	let value: unknown;
	try {
		value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
	} catch {
		throw new AuthError('malformed');
	}
	const c = value as Partial<TokenClaims> | null;
	if (
		typeof c !== 'object' ||
		c === null ||
		typeof c.sub !== 'string' ||
		typeof c.name !== 'string' ||
		!isRole(c.role) ||
		typeof c.exp !== 'number' ||
		!Number.isFinite(c.exp) ||
		// Tokens from before sessions (no id, no issue time) cannot be revoked, so they are refused:
		// one new login per user after the upgrade.
		typeof c.iat !== 'number' ||
		!Number.isFinite(c.iat) ||
		typeof c.jti !== 'string' ||
		!uuidPattern.test(c.jti)
	) {
		throw new AuthError('malformed');
	}
	return { sub: c.sub, role: c.role, name: c.name, exp: c.exp, iat: c.iat, jti: c.jti };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when there is none. */
export function bearerToken(header: string | null | undefined): string | undefined {
	if (!header) return undefined;
	const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
	if (!match) throw new AuthError('malformed', 'Authorization header must be "Bearer <token>"');
	return match[1];
}
