import { deviceIdOf, readSession, type Session, writeSession } from './session.ts';

/**
 * The signed-in session as reactive state. Browser-only (the app renders client-side: it has to
 * work from IndexedDB with no server), so it reads localStorage on first use.
 */
class SessionStore {
	current = $state<Session | null>(null);
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
		this.current = session;
	}

	signOut(): void {
		writeSession(localStorage, null);
		this.current = null;
	}
}

export const session = new SessionStore();
