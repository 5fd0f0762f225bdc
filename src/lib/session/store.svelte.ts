import { deviceIdOf, readSession, type Session, writeSession } from './session.ts';

/**
 * The signed-in session as reactive state. Browser-only (the app renders client-side: it has to
 * work from IndexedDB with no server), so it reads localStorage on first use.
 */
/**
 * What the login page says after the server ended the session (docs/server-rules.md TEAM-4): a
 * REST 401, or the websocket closed with `session_revoked` — logged out elsewhere, all sessions
 * revoked, the account turned off, or the sign-in ran out. Plain words; the person cannot tell which.
 */
export const sessionEndedMessage =
	'You were signed out: your session ended. Sign in again. If that does not work, ask the owner.';

class SessionStore {
	current = $state<Session | null>(null);
	/** Set when the server, not the person, ended the session; cleared by the next sign-in. */
	endedMessage = $state<string | null>(null);
	#deviceId = '';

	constructor() {
		if (typeof localStorage !== 'undefined') this.current = readSession(localStorage);
	}

	get deviceId(): string {
		this.#deviceId ||= deviceIdOf(localStorage);
		return this.#deviceId;
	}

	get token(): string | null {
		return this.current?.token ?? null;
	}

	get isOwner(): boolean {
		return this.current?.user.role === 'OWNER';
	}

	signIn(session: Session): void {
		writeSession(localStorage, session);
		this.endedMessage = null;
		this.current = session;
	}

	/** `endedMessage`: why, when the server ended the session (the login page shows it). */
	signOut(endedMessage: string | null = null): void {
		writeSession(localStorage, null);
		this.endedMessage = endedMessage;
		this.current = null;
	}
}

export const session = new SessionStore();
