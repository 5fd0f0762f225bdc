import { session, sessionEndedMessage } from '$lib/session/store.svelte.ts';
import { logSync } from './log.ts';

/**
 * Why the server closed a document (`session_revoked`, server/collab/revoke.ts) or refused its
 * reconnect (the token's AuthError code) when the session itself is over, not access to one
 * document: logged out elsewhere, sessions revoked, the account disabled, the token expired.
 */
const SESSION_OVER: ReadonlySet<string> = new Set([
	'session_revoked',
	'revoked',
	'disabled',
	'expired',
	'unknown_user'
]);

export function isSessionOver(reason: string | undefined): boolean {
	return reason !== undefined && SESSION_OVER.has(reason);
}

/**
 * TEAM-4 (docs/server-rules.md): the server ended this person's session, so sign out with a plain
 * message (the layout then shows the login page, which says why) instead of leaving a page whose
 * edits can never be sent. `closeAll` closes every document; local copies and unsent edits stay in
 * IndexedDB, as on any sign-out. Once per session: every open document reports the same close.
 */
export function endSession(doc: string, reason: string, closeAll: () => void): void {
	logSync('denied', { doc, reason });
	if (!session.current) return;
	session.signOut(sessionEndedMessage);
	// Not from inside the provider's own event handler: closing destroys that provider.
	queueMicrotask(closeAll);
}
