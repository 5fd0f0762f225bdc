import { onApiReachability } from '../api/reachability.ts';
import { localStoragePendingStore, type PendingStore } from './pending.ts';

/**
 * The one sync status the indicator shows (docs/architecture.md "The app", Sync status):
 * online/offline from the browser and the websocket, local changes not yet on the server and not
 * yet durable (summed over every document, open or not, from the pending store), last synced time.
 */
/**
 * `idle`: no document open yet, so no socket; the browser's network state and whether the last API
 * call got an answer are all we know.
 */
export type SocketState = 'idle' | 'connecting' | 'connected' | 'disconnected';

const LAST_SYNCED_KEY = 'khs:lastSyncedAt';

class SyncStatus {
	browserOnline = $state(true);
	socket = $state<SocketState>('idle');
	/** The last API call got an answer (any status). False when the server is down or unreachable. */
	serverReachable = $state(true);
	/** Local changes the server has not durably stored. */
	pending = $state(0);
	/** Of those, changes the server has not even received. */
	unsent = $state(0);
	lastSyncedAt = $state<number | null>(null);
	/** Documents whose first server handshake is still running (shown as "syncing"). */
	syncing = $state(0);
	/** The socket was connected at some point this session: losing it now is "reconnecting". */
	everConnected = $state(false);

	/** Offline intervals of this session, [from, to|null]; merge notices word "while you were offline" by it. */
	private offline: Array<[number, number | null]> = [];
	private store: PendingStore | null = null;

	readonly online = $derived(this.isOnline());

	private isOnline(): boolean {
		return (
			this.browserOnline && (this.socket === 'connected' || (this.socket === 'idle' && this.serverReachable))
		);
	}

	init(): void {
		if (typeof window === 'undefined' || this.store) return;
		this.store = localStoragePendingStore(localStorage);
		this.browserOnline = navigator.onLine;
		if (!this.browserOnline) this.offline.push([Date.now(), null]);
		const saved = Number(localStorage.getItem(LAST_SYNCED_KEY));
		this.lastSyncedAt = saved > 0 ? saved : null;
		window.addEventListener('online', () => this.setBrowserOnline(true));
		window.addEventListener('offline', () => this.setBrowserOnline(false));
		this.recount();
	}

	setBrowserOnline(online: boolean): void {
		this.browserOnline = online;
		this.noteConnectivity();
	}

	setSocket(state: SocketState): void {
		this.socket = state;
		// A live socket is an answer from the server too.
		if (state === 'connected') {
			this.serverReachable = true;
			this.everConnected = true;
		}
		this.noteConnectivity();
	}

	setServerReachable(reachable: boolean): void {
		if (this.serverReachable === reachable) return;
		this.serverReachable = reachable;
		this.noteConnectivity();
	}

	wasOffline(at: number): boolean {
		return this.offline.some(([from, to]) => at >= from && (to === null || at <= to));
	}

	markSynced(now = Date.now()): void {
		this.lastSyncedAt = now;
		try {
			localStorage.setItem(LAST_SYNCED_KEY, String(now));
		} catch {
			// Only the "last synced" label would be older after a reload.
		}
	}

	/** Re-sums pending changes over every document in the pending store. */
	recount(): void {
		if (!this.store) return;
		let pending = 0;
		let unsent = 0;
		for (const name of this.store.names()) {
			const changes = this.store.load(name);
			pending += changes.length;
			unsent += changes.filter((c) => !c.r).length;
		}
		this.pending = pending;
		this.unsent = unsent;
	}

	private noteConnectivity(): void {
		const last = this.offline.at(-1);
		const isOnline = this.isOnline();
		if (!isOnline && (!last || last[1] !== null)) this.offline.push([Date.now(), null]);
		if (isOnline && last && last[1] === null) last[1] = Date.now();
		// Keep a day of history; enough to word any notice.
		const horizon = Date.now() - 86_400_000;
		this.offline = this.offline.filter(([, to]) => to === null || to > horizon);
	}
}

export const syncStatus = new SyncStatus();
// With no document open there is no websocket: the API calls are how we know the server is there.
onApiReachability((reachable) => syncStatus.setServerReachable(reachable));
