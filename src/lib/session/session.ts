import type { Role } from '$crdt/writer.ts';

/**
 * Who is signed in on this browser, and which device this is. Kept in localStorage so a crew
 * member who opens the app on a roof with no signal is still signed in and still the same device
 * (the device id is part of every CRDT write: SPEC ID-1).
 */
export interface SessionUser {
	id: string;
	name: string;
	role: Role;
}

export interface Session {
	token: string;
	user: SessionUser;
}

export const sessionKeys = {
	session: 'khs:session',
	deviceId: 'khs:deviceId'
} as const;

export function readSession(storage: Storage): Session | null {
	const raw = storage.getItem(sessionKeys.session);
	if (!raw) return null;
	try {
		const parsed = JSON.parse(raw) as Partial<Session>;
		const user = parsed.user;
		if (
			typeof parsed.token === 'string' &&
			user &&
			typeof user.id === 'string' &&
			typeof user.name === 'string' &&
			(user.role === 'OWNER' || user.role === 'WORKER')
		) {
			return { token: parsed.token, user: { id: user.id, name: user.name, role: user.role } };
		}
	} catch {
		// A corrupt entry is treated as signed out; the login page overwrites it.
	}
	return null;
}

export function writeSession(storage: Storage, session: Session | null): void {
	if (session) storage.setItem(sessionKeys.session, JSON.stringify(session));
	else storage.removeItem(sessionKeys.session);
}

/** A stable per-browser id, made once. Survives logout: it names the device, not the user. */
export function deviceIdOf(storage: Storage, makeId: () => string = randomUuid): string {
	const existing = storage.getItem(sessionKeys.deviceId);
	if (existing) return existing;
	const id = makeId();
	storage.setItem(sessionKeys.deviceId, id);
	return id;
}

/** UUID v4 that also works on plain-http LAN addresses, where `crypto.randomUUID` is missing. */
export function randomUuid(): string {
	if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
	const b = crypto.getRandomValues(new Uint8Array(16));
	b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
	b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
	const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
