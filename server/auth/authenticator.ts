import type { Db } from '../db/port.ts';
import { authDefaults } from './defaults.ts';
import type { AuthUser } from './roles.ts';
import { loadSessionState } from './sessions.ts';
import { AuthError, type TokenClaims, type TokenSigner } from './tokens.ts';

/**
 * Turns a token into the current user. Used by every HTTP route and by the websocket.
 * The database, not the token, is authoritative for name, role and whether the session still
 * stands (docs/server-rules.md SES-1…SES-4): a deleted user's tokens stop working (`unknown_user`),
 * a logged-out or revoked token is `revoked`, a disabled user is `disabled`, and a role change
 * applies without a new login.
 */
export type Authenticator = (token: string | null | undefined) => Promise<AuthUser>;

/** The authenticator plus its cache controls. */
export interface SessionAuthenticator {
	authenticate: Authenticator;
	/** Forgets what is cached about `userId`, so the next check reads the database (SES-4). */
	invalidateUser(userId: string): void;
	/** Cached tokens, for tests and metrics. */
	readonly size: number;
}

type Outcome = { ok: true; user: AuthUser } | { ok: false; code: 'unknown_user' | 'revoked' | 'disabled' };

interface Entry {
	userId: string;
	/** Epoch ms after which the entry is read again from the database. */
	staleAtMs: number;
	outcome: Promise<Outcome>;
}

/**
 * SES-4: the hot path stays cheap. The signature and expiry are checked on every call (an HMAC);
 * the database state of a token is cached for `cacheTtlMs` per token id, and dropped at once by
 * `invalidateUser`, which the revocation bus calls on every instance when a user's sessions,
 * role or disabled flag change. Without the bus message (another deployment writing the database
 * directly) a change is seen within `cacheTtlMs`.
 */
export function createSessionAuthenticator(deps: {
	db: Db;
	tokens: TokenSigner;
	cacheTtlMs?: number;
	maxCacheEntries?: number;
	now?: () => number;
}): SessionAuthenticator {
	const ttlMs = deps.cacheTtlMs ?? authDefaults.sessionCacheTtlMs;
	const maxEntries = deps.maxCacheEntries ?? authDefaults.sessionCacheMaxEntries;
	const now = deps.now ?? Date.now;
	// In-flight lookups are cached too (one query per token however many sockets ask at once), so
	// `invalidateUser` also drops a lookup that started before a revocation: its stale answer is
	// never kept after it.
	const cache = new Map<string, Entry>();

	const load = async (claims: TokenClaims): Promise<Outcome> => {
		const state = await loadSessionState(deps.db, claims.sub, claims.jti);
		if (!state) return { ok: false, code: 'unknown_user' };
		if (state.user.disabled) return { ok: false, code: 'disabled' };
		if (state.tokenRevoked || (state.validAfterMs !== null && claims.iat <= state.validAfterMs)) {
			return { ok: false, code: 'revoked' };
		}
		const { id, name, role } = state.user;
		return {
			ok: true,
			user: {
				id,
				name,
				role,
				session: { tokenId: claims.jti, issuedAtMs: claims.iat, expiresAtMs: claims.exp }
			}
		};
	};

	const outcomeOf = (claims: TokenClaims): Promise<Outcome> => {
		const cached = cache.get(claims.jti);
		if (cached && cached.staleAtMs > now()) return cached.outcome;
		const outcome = load(claims);
		const entry: Entry = { userId: claims.sub, staleAtMs: now() + ttlMs, outcome };
		if (cached) cache.delete(claims.jti);
		else if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
		cache.set(claims.jti, entry);
		// A failed lookup (database down) is not an answer: never cache it.
		outcome.catch(() => {
			if (cache.get(claims.jti) === entry) cache.delete(claims.jti);
		});
		return outcome;
	};

	return {
		async authenticate(token) {
			const claims = deps.tokens.verify(token);
			const outcome = await outcomeOf(claims);
			if (!outcome.ok) throw new AuthError(outcome.code);
			// A copy per caller: connections keep their user in their context, and SES-6 replaces it.
			const { session, ...user } = outcome.user;
			return { ...user, ...(session ? { session: { ...session } } : {}) };
		},
		invalidateUser(userId) {
			for (const [tokenId, entry] of cache) if (entry.userId === userId) cache.delete(tokenId);
		},
		get size() {
			return cache.size;
		}
	};
}

/** An authenticator without a cache handle (library use, tests). */
export function createAuthenticator(deps: { db: Db; tokens: TokenSigner }): Authenticator {
	return createSessionAuthenticator(deps).authenticate;
}
