import type { Extension } from '@hocuspocus/server';
import type { CollabContext } from './hocuspocus.ts';

/**
 * Presence that tells the truth (server rule PRES-1): awareness states are whatever JSON a client
 * sends, so a worker's raw client could appear to others as "Olivia Owner / OWNER". Before an
 * awareness update is applied or relayed, the `user` of every state in it is overwritten with the
 * authenticated user's id, name and role (its display colour is kept), and a state for a Yjs
 * clientID that another user already speaks for on this document is dropped (PRES-2): a client may
 * speak only for itself. Read-only connections get the same treatment.
 */
export function createPresenceExtension(): Extension {
	/** Per document: which user each awareness clientID belongs to, as first claimed. */
	const owners = new Map<string, Map<number, string>>();
	return {
		extensionName: 'khs-presence',
		async beforeHandleAwareness({ documentName, context, states, connection }) {
			const user = (context as Partial<CollabContext> | undefined)?.user;
			if (!connection || !user) {
				if (connection) states.clear(); // not authenticated: nothing to show
				return;
			}
			let claimed = owners.get(documentName);
			if (!claimed) {
				claimed = new Map();
				owners.set(documentName, claimed);
			}
			for (const [clientId, state] of states) {
				const owner = claimed.get(clientId);
				if (owner !== undefined && owner !== user.id) {
					states.delete(clientId);
					continue;
				}
				claimed.set(clientId, user.id);
				const shown = (state as { user?: { color?: unknown } }).user;
				const color = typeof shown?.color === 'string' && shown.color.length <= 32 ? shown.color : undefined;
				states.set(clientId, {
					...state,
					user: { id: user.id, name: user.name, role: user.role, ...(color ? { color } : {}) }
				});
			}
		},
		async afterUnloadDocument({ documentName }) {
			owners.delete(documentName);
		}
	};
}
