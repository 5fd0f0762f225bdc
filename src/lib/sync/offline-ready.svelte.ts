import { subscribeBoardEvents } from '$lib/api/board-events.ts';
import { api } from '$lib/api/index.ts';
import { session } from '$lib/session/store.svelte.ts';
import { type DocSession, sync } from './client.svelte.ts';
import { appSyncDefaults } from './defaults.ts';
import { logSync } from './log.ts';
import { planOffline } from './offline-plan.ts';

/**
 * "Ready before leaving": while signed in and online, every document the person needs offline
 * (offline-plan.ts) is synced into y-indexeddb in the background over the one shared websocket.
 * At most `offlineLiveDocs` are kept live at once (the most urgent jobs); the rest are synced in
 * turn, one at a time, on every refresh. A document that leaves the plan because access ended
 * (a crew member taken off a job, a job deleted) is dropped from the device; for the owner a job
 * that closed just stops being kept. The server's own refusals (`forbidden`, `access_revoked`)
 * drop a document at once (doc-session.svelte.ts `forget`).
 */
interface Saved {
	names: string[];
	jobs: number;
	syncedAt: number | null;
}

const KEY_PREFIX = 'khs:offline:';

class OfflineReady {
	/** Jobs the plan keeps on this device. */
	jobs = $state(0);
	/** Documents in the plan, and how many of them are synced with the server this session. */
	total = $state(0);
	ready = $state(0);
	/** When every document of the plan was last in sync with the server. */
	syncedAt = $state<number | null>(null);
	/** A pass is running (first sync of the day, or a refresh). */
	working = $state(false);
	/** The plan has never been synced on this device (first sign-in, nothing to show yet). */
	known = $state(false);

	private names: string[] = [];
	private live = new Set<string>();
	private running: Promise<void> | null = null;
	private again = false;
	private rotateNext = false;
	private stopFn: (() => void) | null = null;

	readonly complete = $derived(this.known && this.total > 0 && this.ready >= this.total);

	/** Starts keeping documents; returns the stop function (for `$effect`). Idempotent. */
	start(): () => void {
		this.stopFn?.();
		const userId = session.current?.user.id;
		if (!userId) return () => {};
		this.restore(userId);
		sync.connect();
		const token = session.token;
		// A change on the board may add or remove a job of mine; at most one re-plan per interval,
		// however busy the company is (every edit anywhere announces a change).
		let planTimer: ReturnType<typeof setTimeout> | undefined;
		const replan = () => {
			planTimer ??= setTimeout(() => {
				planTimer = undefined;
				this.refresh(false);
			}, appSyncDefaults.offlinePlanEveryMs);
		};
		const events = token ? subscribeBoardEvents(token, replan) : null;
		const onOnline = () => {
			// Edits made offline in documents no page has open go out now, not at the next start.
			sync.resumePending();
			this.refresh(true);
		};
		window.addEventListener('online', onOnline);
		const timer = setInterval(() => this.refresh(true), appSyncDefaults.offlineRefreshMs);
		this.refresh(true);
		const stop = () => {
			events?.close();
			clearTimeout(planTimer);
			window.removeEventListener('online', onOnline);
			clearInterval(timer);
			for (const name of this.live) sync.unhold(name);
			this.live.clear();
			if (this.stopFn === stop) this.stopFn = null;
		};
		this.stopFn = stop;
		return stop;
	}

	/** Re-plans; `rotate` also re-syncs the documents beyond the live bound. One pass at a time. */
	refresh(rotate: boolean): void {
		this.rotateNext ||= rotate;
		if (this.running) {
			this.again = true;
			return;
		}
		const rotateNow = this.rotateNext;
		this.rotateNext = false;
		this.running = this.pass(rotateNow)
			.catch((error: unknown) => logSync('offline pass failed', { error: String(error) }))
			.finally(() => {
				this.running = null;
				this.working = false;
				if (this.again) {
					this.again = false;
					this.refresh(false);
				}
			});
	}

	private async pass(rotate: boolean): Promise<void> {
		const user = session.current?.user;
		if (!user || !navigator.onLine) return;
		const board = await api.board().catch(() => null);
		// A saved copy means the server is not answering: keep what is on the device.
		if (!board || board.stale || session.current?.user.id !== user.id) return;
		this.working = true;
		// The customer list the pages read offline.
		if (rotate) void api.customers().catch(() => {});
		const plan = planOffline(board.data.jobs, user.role === 'OWNER', user.id);
		const previous = new Set(this.names);
		const wanted = new Set(plan.names);
		for (const name of previous) {
			if (wanted.has(name)) continue;
			this.live.delete(name);
			sync.unhold(name);
			// A crew member's job left their board: their access ended. The owner keeps closed jobs.
			if (user.role !== 'OWNER' && !sync.get(name)?.refs) void sync.drop(name);
		}
		const firstTime = plan.names.filter((n) => !previous.has(n));
		this.names = plan.names;
		this.jobs = plan.jobs.length;
		this.total = plan.names.length;
		this.known = true;

		const liveNames = plan.names.slice(0, appSyncDefaults.offlineLiveDocs);
		for (const name of this.live) {
			if (!liveNames.includes(name)) {
				sync.unhold(name);
				this.live.delete(name);
			}
		}
		for (const name of liveNames) {
			sync.hold(name);
			this.live.add(name);
		}
		const rest = plan.names.slice(liveNames.length).filter((n) => rotate || firstTime.includes(n));
		const results = await Promise.all(liveNames.map((n) => settled(sync.hold(n))));
		let ready = results.filter(Boolean).length;
		for (const name of liveNames) {
			// Refused (taken off the job since the board was read): not kept, not live.
			const denied = sync.get(name)?.denied;
			if (denied === 'forbidden' || denied === 'access_revoked') {
				this.live.delete(name);
				sync.unhold(name);
			}
		}
		this.ready = ready + (plan.names.length - liveNames.length - rest.length);
		for (const name of rest) {
			if (!navigator.onLine) return;
			const ok = await settled(sync.hold(name));
			if (!this.live.has(name)) sync.unhold(name);
			if (ok) ready++;
			this.ready = ready + (plan.names.length - liveNames.length - rest.length);
		}
		if (this.ready >= this.total) this.syncedAt = Date.now();
		this.save(user.id);
	}

	private restore(userId: string): void {
		try {
			const saved = JSON.parse(localStorage.getItem(KEY_PREFIX + userId) ?? 'null') as Saved | null;
			if (!saved) return;
			this.names = saved.names;
			this.jobs = saved.jobs;
			this.total = saved.names.length;
			this.syncedAt = saved.syncedAt;
			this.ready = saved.syncedAt ? saved.names.length : 0;
			this.known = true;
		} catch {
			// A broken entry: the next pass writes a fresh one.
		}
	}

	private save(userId: string): void {
		const saved: Saved = { names: this.names, jobs: this.jobs, syncedAt: this.syncedAt };
		try {
			localStorage.setItem(KEY_PREFIX + userId, JSON.stringify(saved));
		} catch {
			// Storage full: only the label after a reload is older.
		}
	}

	/** Sign-out: stop; the documents stay on the device for the next sign-in of the same person. */
	reset(): void {
		this.stopFn?.();
		this.names = [];
		this.jobs = 0;
		this.total = 0;
		this.ready = 0;
		this.syncedAt = null;
		this.known = false;
	}
}

/** Resolves true once the document is loaded from the device and in sync with the server. */
function settled(doc: DocSession): Promise<boolean> {
	if (doc.denied) return Promise.resolve(false);
	return new Promise((resolve) => {
		const timer = setTimeout(() => finish(false), appSyncDefaults.offlineDocTimeoutMs);
		let done = false;
		const finish = (ok: boolean) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			doc.provider.off('synced', onSynced);
			doc.provider.off('authenticationFailed', onDenied);
			resolve(ok);
		};
		const onSynced = () => void doc.persistence.whenSynced.then(() => finish(true));
		const onDenied = () => finish(false);
		doc.provider.on('synced', onSynced);
		doc.provider.on('authenticationFailed', onDenied);
		if (doc.serverSynced) onSynced();
	});
}

export const offlineReady = new OfflineReady();
