/**
 * The spec's ConflictResolver: six strategies, pure, each returning the spec's `ResolvedConflict`
 * (`resolution, finalState, clientAction, userNotification`). Isomorphic.
 *
 * How push realizes them on the CRDT (see server/sync/README.md): the resolution picks which
 * register entries the client's write has "seen" — `client_wins` overwrites everything (seen = all),
 * `server_wins` does not write the field, `field_merge` and `pending_user` write having seen only the
 * base version, so the concurrent server entry stays and the field's resolver (OR, max, role, LWW) or
 * the user decides.
 */
import type { Role } from '../../crdt/writer.ts';
import { sameJson } from './same-json.ts';

export const STRATEGIES = [
	'SERVER_WINS',
	'CLIENT_WINS',
	'LAST_WRITE_WINS',
	'ROLE_BASED',
	'FIELD_MERGE',
	'USER_CHOICE'
] as const;

export type ResolutionStrategy = (typeof STRATEGIES)[number];

export type EntityState = Record<string, unknown>;

export interface SyncConflict {
	id: string;
	clientOperation: { timestamp: number; userRole: Role };
	/** The fields the client sent. */
	clientState: EntityState;
	/** The server's entity; `updatedAt` (ms) and `lastModifiedByRole` drive LWW and ROLE_BASED. */
	serverState: EntityState & { updatedAt?: number; lastModifiedByRole?: Role | null };
	/** The entity at the client's base version, when known. */
	baseState?: EntityState | undefined;
}

export type UserNotification = {
	type: 'info' | 'warning' | 'action_required';
	message: string;
	details?: Array<{ field: string; yourValue: unknown; currentValue: unknown }>;
	action?: { label: string; handler: string; payload: string };
} | null;

export interface ResolvedConflict {
	resolution: 'server_wins' | 'client_wins' | 'field_merge' | 'pending_user';
	finalState: EntityState;
	clientAction: 'update_local' | 'retry_sync' | 'none' | 'show_conflict_ui';
	userNotification: UserNotification;
}

export class ConflictResolver {
	resolve(conflict: SyncConflict, strategy: ResolutionStrategy = 'SERVER_WINS'): ResolvedConflict {
		switch (strategy) {
			case 'SERVER_WINS':
				return this.serverWins(conflict);
			case 'CLIENT_WINS':
				return this.clientWins(conflict);
			case 'LAST_WRITE_WINS':
				return this.lastWriteWins(conflict);
			case 'ROLE_BASED':
				return this.roleBased(conflict);
			case 'FIELD_MERGE':
				return this.fieldMerge(conflict);
			case 'USER_CHOICE':
				return this.userChoice(conflict);
			default:
				return this.serverWins(conflict);
		}
	}

	serverWins(conflict: SyncConflict): ResolvedConflict {
		return {
			resolution: 'server_wins',
			finalState: { ...conflict.serverState },
			clientAction: 'update_local',
			userNotification: { type: 'info', message: 'Your changes were overwritten by newer updates' }
		};
	}

	clientWins(conflict: SyncConflict): ResolvedConflict {
		return {
			resolution: 'client_wins',
			finalState: { ...conflict.serverState, ...conflict.clientState },
			// The spec's `retry_sync`: the server already applied it here, so nothing is left to resend;
			// the client only has to take the new version.
			clientAction: 'none',
			userNotification: null
		};
	}

	/** Most recent wins: the client's operation time against the server's last write time. */
	lastWriteWins(conflict: SyncConflict): ResolvedConflict {
		const clientTime = conflict.clientOperation.timestamp;
		const serverTime = conflict.serverState.updatedAt ?? 0;
		return clientTime > serverTime ? this.clientWins(conflict) : this.serverWins(conflict);
	}

	/** Owner changes override worker changes; same role: last write wins. */
	roleBased(conflict: SyncConflict): ResolvedConflict {
		const clientRole = conflict.clientOperation.userRole;
		const serverRole = conflict.serverState.lastModifiedByRole;
		if (serverRole === 'OWNER' && clientRole === 'WORKER') return this.serverWins(conflict);
		if (clientRole === 'OWNER' && serverRole === 'WORKER') return this.clientWins(conflict);
		return this.lastWriteWins(conflict);
	}

	/** Fields only the client changed are taken; fields both changed differently keep the server's. */
	fieldMerge(conflict: SyncConflict): ResolvedConflict {
		const merged: EntityState = { ...conflict.serverState };
		const conflicted: string[] = [];
		for (const [field, clientValue] of Object.entries(conflict.clientState)) {
			const serverValue = conflict.serverState[field];
			const baseValue = conflict.baseState?.[field];
			if (sameJson(serverValue, baseValue) && !sameJson(clientValue, baseValue)) merged[field] = clientValue;
			else if (
				!sameJson(serverValue, baseValue) &&
				!sameJson(clientValue, baseValue) &&
				!sameJson(serverValue, clientValue)
			)
				conflicted.push(field);
		}
		return {
			resolution: 'field_merge',
			finalState: merged,
			clientAction: conflicted.length > 0 ? 'update_local' : 'none',
			userNotification:
				conflicted.length > 0
					? {
							type: 'warning',
							message: `Conflicts in fields: ${conflicted.join(', ')}`,
							details: conflicted.map((field) => ({
								field,
								yourValue: conflict.clientState[field],
								currentValue: conflict.serverState[field]
							}))
						}
					: null
		};
	}

	/** Kept for the user: the server state shows meanwhile; both values stay in the document. */
	userChoice(conflict: SyncConflict): ResolvedConflict {
		return {
			resolution: 'pending_user',
			finalState: { ...conflict.serverState },
			clientAction: 'show_conflict_ui',
			userNotification: {
				type: 'action_required',
				message: 'Sync conflict requires your attention',
				action: { label: 'Resolve Conflict', handler: 'openConflictResolver', payload: conflict.id }
			}
		};
	}
}
