import { describe, expect, it } from 'vitest';
import { MemoryWebStorage } from './memory-storage.test-support.ts';
import { deviceIdOf, randomUuid, readSession, sessionKeys, writeSession } from './session.ts';

describe('session storage', () => {
	it('round-trips a session and clears it on logout', () => {
		const storage = new MemoryWebStorage();
		const session = { token: 't', user: { id: 'u1', name: 'Ana', role: 'WORKER' as const } };
		writeSession(storage, session);
		expect(readSession(storage)).toEqual(session);
		writeSession(storage, null);
		expect(readSession(storage)).toBeNull();
	});

	it('treats a corrupt or wrongly shaped entry as signed out', () => {
		const storage = new MemoryWebStorage();
		storage.setItem(sessionKeys.session, '{not json');
		expect(readSession(storage)).toBeNull();
		storage.setItem(
			sessionKeys.session,
			JSON.stringify({ token: 't', user: { id: 'u', name: 'x', role: 'ADMIN' } })
		);
		expect(readSession(storage)).toBeNull();
	});

	it('keeps one device id per browser, across logouts', () => {
		const storage = new MemoryWebStorage();
		const first = deviceIdOf(storage);
		writeSession(storage, null);
		expect(deviceIdOf(storage)).toBe(first);
		expect(first).toMatch(/^[0-9a-f-]{36}$/);
	});

	it('makes v4 UUIDs', () => {
		expect(randomUuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
	});
});
