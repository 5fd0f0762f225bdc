import type { Connection, Hocuspocus } from '@hocuspocus/server';
import { parseDocName } from '../../crdt/doc-names.ts';
import type { Logger } from '../logger.ts';
import type { RemovedAssignment } from '../projection/write.ts';
import type { DocumentAccess } from './access.ts';
import type { CollabContext } from './hocuspocus.ts';

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
