import {
	type Configuration,
	type Extension,
	Hocuspocus,
	isTransactionOrigin,
	type onAuthenticatePayload
} from '@hocuspocus/server';
import { parseDocName } from '../../crdt/doc-names.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { AuthUser } from '../auth/roles.ts';
import { AuthError } from '../auth/tokens.ts';
import type { Logger } from '../logger.ts';
import { metrics, trackLoadedDocuments } from '../metrics.ts';
import type { AccessLevel, DocumentAccess } from './access.ts';
import { createPresenceExtension } from './presence.ts';

/** What every Hocuspocus hook finds in `context` once a connection is authenticated. */
export interface CollabContext {
	user: AuthUser;
	access: Exclude<AccessLevel, 'none'>;
}

/** Why a document connection was refused; the provider's `onAuthenticationFailed` gets it as `reason`. */
export type CollabRejection = AuthError['code'] | 'unknown_document' | 'forbidden' | 'access_error';

/**
 * Thrown from `onAuthenticate` to refuse one document. Hocuspocus sends `reason` to the client and
 * `console.error`s any error with a message, so the message stays empty; we log with pino instead.
 */
export class CollabDenied extends Error {
	override readonly name = 'CollabDenied';
	constructor(readonly reason: CollabRejection) {
		super('');
	}
}

/** A refused document connection, as told to extensions that implement `onCollabRefused`. */
export interface CollabRefusal {
	/** The connection's context as far as it got (what `onConnect` hooks added). */
	context: Record<string, unknown>;
	documentName: string;
	socketId: string;
	reason: CollabRejection;
	/** Known when the token was valid (forbidden document, access error). */
	userId?: string | undefined;
}

/** An extension that wants to know about refusals (Hocuspocus has no hook for a failed `onAuthenticate`). */
export interface CollabRefusalObserver {
	onCollabRefused?(refusal: CollabRefusal): void;
}

export interface CollabOptions {
	authenticate: Authenticator;
	access: DocumentAccess;
	logger: Logger;
	/** Persistence, validation, Redis… run after the auth extension, in the given order. */
	extensions?: Extension[];
	/** Overrides of Hocuspocus' own settings (debounce, timeout…). */
	hocuspocus?: Partial<Omit<Configuration<CollabContext>, 'extensions'>>;
}

/** Hocuspocus settings we choose differently from its defaults. */
export const collabDefaults = {
	/** We print our own logs; the start screen is for `Server.listen`. */
	quiet: true
} as const;

/**
 * Builds the Hocuspocus instance (no listening: `server/app.ts` hands it upgraded sockets).
 * Access is decided entirely in `onAuthenticate` — never by throwing in `onLoadDocument`, which
 * leaks the Y.Doc and an awareness timer (hocuspocus #1156).
 */
export function createHocuspocus(options: CollabOptions): Hocuspocus<CollabContext> {
	const { logger } = options;
	let untrack: (() => void) | undefined;

	const authExtension: Extension<CollabContext> = {
		extensionName: 'khs-auth',
		// Highest priority: nothing (persistence included) runs for a connection we refuse.
		priority: 1000,
		async onAuthenticate(data: onAuthenticatePayload<CollabContext>) {
			const deny = (reason: CollabRejection, extra: Record<string, unknown> = {}) => {
				metrics.collabRejections.inc({ reason });
				const userId = typeof extra.userId === 'string' ? extra.userId : undefined;
				for (const extension of options.extensions ?? []) {
					(extension as CollabRefusalObserver).onCollabRefused?.({
						context: data.context as unknown as Record<string, unknown>,
						documentName: data.documentName,
						socketId: data.socketId,
						reason,
						userId
					});
				}
				logger.info(
					{ socketId: data.socketId, documentName: data.documentName, reason, ...extra },
					'collab refused'
				);
				return new CollabDenied(reason);
			};
			if (!parseDocName(data.documentName)) throw deny('unknown_document');
			let user: AuthUser;
			try {
				user = await options.authenticate(data.token);
			} catch (error) {
				if (error instanceof AuthError) throw deny(error.code);
				logger.error({ err: error }, 'collab authentication failed');
				throw deny('access_error');
			}
			let level: AccessLevel;
			try {
				level = await options.access.access(user, data.documentName);
			} catch (error) {
				logger.error({ err: error, userId: user.id }, 'access decision failed; denying');
				throw deny('access_error', { userId: user.id });
			}
			if (level === 'none') throw deny('forbidden', { userId: user.id });
			// Read access: Hocuspocus drops this connection's updates and answers sync-status false.
			data.connectionConfig.readOnly = level === 'read';
			logger.debug(
				{ socketId: data.socketId, documentName: data.documentName, userId: user.id, level },
				'collab open'
			);
			// The returned object is merged into the connection's context by Hocuspocus.
			return { user, access: level } satisfies CollabContext;
		}
	};

	const metricsExtension: Extension<CollabContext> = {
		extensionName: 'khs-metrics',
		async onConfigure({ instance }) {
			untrack = trackLoadedDocuments(() => instance.getDocumentsCount());
		},
		async onChange({ transactionOrigin }) {
			if (isTransactionOrigin(transactionOrigin) && transactionOrigin.source === 'connection') {
				metrics.updatesReceived.inc();
			}
		},
		async onDestroy() {
			untrack?.();
		}
	};

	return new Hocuspocus<CollabContext>({
		...collabDefaults,
		...options.hocuspocus,
		extensions: [authExtension, metricsExtension, createPresenceExtension(), ...(options.extensions ?? [])]
	});
}
