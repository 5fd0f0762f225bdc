import type { Role } from '../../crdt/writer.ts';

/** The roles are the product's, defined once with the writer identity they stamp (crdt/writer.ts). */
export { isRole, ROLES as roles, type Role } from '../../crdt/writer.ts';

/** What the rest of the server knows about the caller once a token has been checked. */
export interface AuthUser {
	id: string;
	name: string;
	role: Role;
	/**
	 * The token this user was authenticated with (set by the authenticator), so a logout or a
	 * session revocation can find the connections it opened (docs/server-rules.md SES-5).
	 * Never sent to clients: routes answer with `publicUser`.
	 */
	session?: SessionRef;
}

/** Which token a request or connection rests on. */
export interface SessionRef {
	/** The token's `jti`. */
	tokenId: string;
	/** The token's `iat`, epoch ms. */
	issuedAtMs: number;
	/** The token's `exp`, epoch ms. */
	expiresAtMs: number;
}

/** What clients are told about a user: id, name and role, never the session. */
export function publicUser(user: AuthUser): { id: string; name: string; role: Role } {
	return { id: user.id, name: user.name, role: user.role };
}
