import { goto } from '$app/navigation';
import { session, sessionEndedMessage } from '$lib/session/store.svelte.ts';
import { createApiClient } from './client.ts';
import { reportApiReachability } from './reachability.ts';

/** The app's one API client, bound to the signed-in session. */
export const api = createApiClient({
	token: () => session.token,
	userId: () => session.current?.user.id ?? null,
	onUnauthorized: () => {
		// An expired, revoked or disabled token (TEAM-4): sign out and say why on the login page;
		// local documents stay in IndexedDB.
		session.signOut(sessionEndedMessage);
		void goto('/login');
	},
	// With no document open there is no websocket: the API calls are how we know the server is there.
	// The sync status subscribes (sync/status.svelte.ts).
	onReachability: reportApiReachability
});

export { ApiError, type Cached } from './client.ts';
export * from './types.ts';
