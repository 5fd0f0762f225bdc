import type { Db } from '../db/port.ts';
import type { AuthUser } from './roles.ts';
import { AuthError, type TokenSigner } from './tokens.ts';
import { findUserById } from './users.ts';

/**
 * Turns a token into the current user. Used by every HTTP route and by the websocket.
 * The database, not the token, is authoritative for name and role: a deleted user's tokens stop
 * working at once (`unknown_user`), and a role change applies without a new login.
 */
export type Authenticator = (token: string | null | undefined) => Promise<AuthUser>;

export function createAuthenticator(deps: { db: Db; tokens: TokenSigner }): Authenticator {
	return async (token) => {
		const claims = deps.tokens.verify(token);
		const user = await findUserById(deps.db, claims.sub);
		if (!user) throw new AuthError('unknown_user');
		return { id: user.id, name: user.name, role: user.role };
	};
}
