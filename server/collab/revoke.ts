import type { Connection, Hocuspocus } from '@hocuspocus/server';
import { parseDocName } from '../../crdt/doc-names.ts';
import type { AuthUser, Role } from '../auth/roles.ts';
import type { Logger } from '../logger.ts';
import type { RemovedAssignment } from '../projection/write.ts';
import type { DocumentAccess } from './access.ts';
import type { CollabContext } from './hocuspocus.ts';
import type { RevocationMessage } from './revocation-bus.ts';

/**
 * The close reason a provider receives (its `close` event, `event.reason`) when its access to a
 * document was taken away while it was connected. A reconnect is refused by `onAuthenticate`
 * with `forbidden`.
 */
export const accessRevokedReason = 'access_revoked';

/** 4403 like Hocuspocus' `Forbidden`; the provider sees the reason, not the code, for one document. */
const accessRevoked = { code: 4403, reason: accessRevokedReason } as const;

/**
 * Access is decided when a connection opens (`onAuthenticate`); this closes what a crew change has
 * since made illegal. For each removal: the removed users' connections to `job:<id>` and
 * `materials:<id>` are closed, and their `customer:` connections are re-checked with `access` (they
 * may have read that customer only through this job) and closed when it now says `none`. Owners
 * are never revoked. Call it only after the removal committed, so a reconnect sees it.
 */
export async function revokeRemovedAssignments(
	hocuspocus: Hocuspocus<CollabContext>,
	access: DocumentAccess,
	removed: readonly RemovedAssignment[],
	logger?: Logger
): Promise<number> {
	const jobDocs = new Map<string, Set<string>>();
	const users = new Set<string>();
	for (const { jobId, userIds } of removed) {
		for (const name of [`job:${jobId}`, `materials:${jobId}`]) {
			const set = jobDocs.get(name) ?? new Set<string>();
			for (const id of userIds) set.add(id);
			jobDocs.set(name, set);
		}
		for (const id of userIds) users.add(id);
	}
	if (users.size === 0) return 0;

	const toClose: Array<{ connection: Connection<CollabContext>; documentName: string; userId: string }> = [];
	const rechecks: Array<Promise<void>> = [];
	for (const [documentName, document] of hocuspocus.documents) {
		const kind = parseDocName(documentName)?.kind;
		if (!kind) continue;
		for (const connection of document.getConnections()) {
			const user = (connection.context as Partial<CollabContext> | undefined)?.user;
			if (!user || user.role === 'OWNER' || !users.has(user.id)) continue;
			if (kind === 'customer') {
				rechecks.push(
					access
						.access(user, documentName)
						.catch((err: unknown) => {
							logger?.error({ err, userId: user.id, documentName }, 'access re-check failed; revoking');
							return 'none' as const;
						})
						.then((level) => {
							if (level === 'none') toClose.push({ connection, documentName, userId: user.id });
						})
				);
			} else if (jobDocs.get(documentName)?.has(user.id)) {
				toClose.push({ connection, documentName, userId: user.id });
			}
		}
	}
	await Promise.all(rechecks);
	for (const { connection, documentName, userId } of toClose) {
		logger?.info({ userId, documentName }, 'collab access revoked; closing connection');
		connection.close(accessRevoked);
	}
	return toClose.length;
}

/**
 * The close reason a provider receives when the session its connection rests on ended while it
 * was connected: logged out (SES-1), all sessions revoked (SES-2) or the user disabled (SES-3).
 * A reconnect with the same token is refused by `onAuthenticate` (`revoked` / `disabled`).
 */
export const sessionRevokedReason = 'session_revoked';

/** 4401 like Hocuspocus' `Unauthorized`. */
const sessionRevoked = { code: 4401, reason: sessionRevokedReason } as const;

/** Every open document connection of `userId` on this instance. */
function connectionsOf(
	hocuspocus: Hocuspocus<CollabContext>,
	userId: string
): Array<{ connection: Connection<CollabContext>; documentName: string; user: AuthUser }> {
	const found: Array<{ connection: Connection<CollabContext>; documentName: string; user: AuthUser }> = [];
	for (const [documentName, document] of hocuspocus.documents) {
		for (const connection of document.getConnections()) {
			const user = (connection.context as Partial<CollabContext> | undefined)?.user;
			if (user?.id === userId) found.push({ connection, documentName, user });
		}
	}
	return found;
}

/**
 * The sessions `message` ends, as a test on the user a connection or stream was opened with
 * (SES-1…3); undefined for a crew removal, which ends access to some documents, not a session.
 * `user-changed` may have disabled the user or changed their role: whatever rests on the old
 * state ends (a stream then reconnects and is authenticated afresh; connections are re-checked
 * one by one by `createRevocationHandler`).
 */
export function sessionEndedBy(message: RevocationMessage): ((user: AuthUser) => boolean) | undefined {
	switch (message.kind) {
		case 'token-revoked':
			return (user) => user.id === message.userId && user.session?.tokenId === message.tokenId;
		case 'sessions-revoked':
			// Without a session reference a connection cannot be told apart: end it.
			return (user) =>
				user.id === message.userId &&
				(user.session?.issuedAtMs ?? Number.NEGATIVE_INFINITY) <= message.validAfterMs;
		case 'user-changed':
			return (user) => user.id === message.userId;
		case 'assignment-removed':
			return undefined;
	}
}

export interface RevocationDeps {
	hocuspocus: Hocuspocus<CollabContext>;
	access: DocumentAccess;
	/** Drops the user's cached token state (SES-4) before connections are re-checked. */
	invalidateUser(userId: string): void;
	/** The user as the database has them now; null when deleted. */
	loadUser(userId: string): Promise<{ id: string; name: string; role: Role; disabled: boolean } | null>;
	logger?: Logger;
}

/**
 * SES-5: what every instance does with a revocation-bus message: a crew removal closes the removed
 * workers' job connections (`access_revoked`); a logout closes the connections opened with that
 * token, a session revocation those opened with a token issued before it, a disabled or deleted
 * user all of theirs (`session_revoked`); a role or name change (SES-6) updates each connection's
 * user in place and re-checks its access level, closing it with `access_revoked` when none is left.
 * Resolves to the number of connections closed.
 */
export function createRevocationHandler(
	deps: RevocationDeps
): (message: RevocationMessage) => Promise<number> {
	const { hocuspocus, logger } = deps;
	const close = (
		targets: Array<{ connection: Connection<CollabContext>; documentName: string; user: AuthUser }>,
		why: string
	) => {
		for (const { connection, documentName, user } of targets) {
			logger?.info({ userId: user.id, documentName, why }, 'session ended; closing connection');
			connection.close(sessionRevoked);
		}
		return targets.length;
	};

	return async (message) => {
		switch (message.kind) {
			case 'assignment-removed':
				return revokeRemovedAssignments(hocuspocus, deps.access, [message], logger);
			case 'token-revoked':
			case 'sessions-revoked': {
				deps.invalidateUser(message.userId);
				const ended = sessionEndedBy(message) as (user: AuthUser) => boolean;
				return close(
					connectionsOf(hocuspocus, message.userId).filter((c) => ended(c.user)),
					message.kind === 'token-revoked' ? 'logout' : 'sessions revoked'
				);
			}
			case 'user-changed': {
				deps.invalidateUser(message.userId);
				const open = connectionsOf(hocuspocus, message.userId);
				if (open.length === 0) return 0;
				const now = await deps.loadUser(message.userId);
				if (!now || now.disabled) return close(open, now ? 'user disabled' : 'user deleted');
				let closed = 0;
				await Promise.all(
					open.map(async ({ connection, documentName, user }) => {
						if (user.role === now.role && user.name === now.name) return;
						const updated: AuthUser = { ...user, name: now.name, role: now.role };
						const level = await deps.access.access(updated, documentName).catch((err: unknown) => {
							logger?.error({ err, userId: user.id, documentName }, 'access re-check failed; revoking');
							return 'none' as const;
						});
						if (level === 'none') {
							logger?.info(
								{ userId: user.id, documentName },
								'role change revoked access; closing connection'
							);
							connection.close(accessRevoked);
							closed++;
							return;
						}
						// Hooks read the user from the context on every message (write guard), and
						// Hocuspocus reads `readOnly` on every update: both apply from the next message on.
						const context = connection.context as CollabContext;
						context.user = updated;
						context.access = level;
						connection.readOnly = level === 'read';
					})
				);
				return closed;
			}
		}
	};
}
