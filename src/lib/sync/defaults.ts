/**
 * Tunables of the app's sync layer, in one place (named apart from the server's `syncDefaults`,
 * server/sync/defaults.ts, which tunes the REST sync API).
 */
export const appSyncDefaults = {
	/** Websocket path on the same origin (server/defaults.ts `collabPath`). */
	collabPath: '/collab',
	/**
	 * Provider reconnect backoff: first retry after 1 s, doubling to 10 s (Hocuspocus caps at 30 s;
	 * a crew waiting for "live" again after a server restart should not wait half a minute).
	 */
	reconnectDelayMs: 1_000,
	reconnectFactor: 2,
	reconnectMaxDelayMs: 10_000,
	/**
	 * Offline prefetch (offline-ready.svelte.ts): at most this many documents are kept live at once
	 * in the background (the most urgent jobs, 3 documents each); the rest are synced in turn.
	 */
	offlineLiveDocs: 30,
	/** How often the background documents beyond the live bound are synced again, and the plan refreshed. */
	offlineRefreshMs: 120_000,
	/** A board change re-plans the offline set at most this often (new or removed jobs). */
	offlinePlanEveryMs: 3_000,
	/** A background document that has not synced by then counts as not ready this pass. */
	offlineDocTimeoutMs: 15_000,
	/** A closed page's document stays connected this long, so flipping between pages is instant. */
	lingerMs: 20_000,
	/** Edits closer together than this count as one "change" in the pending counter (a typing burst). */
	pendingBurstMs: 1_500,
	/** Text fields send what is typed after this pause, so others see it "as they type". */
	typingCommitMs: 400,
	/** Undo steps closer together than this merge into one (Y.UndoManager captureTimeout). */
	undoCaptureMs: 600,
	/** Merge notices: at most one scan of a document per this interval. */
	noticeScanMs: 250,
	/** A write that reaches us this long after it was made was made offline (for the wording). */
	offlineWriteAgeMs: 10_000,
	/** Merge notices close by themselves after this long (time to read, and to tap "Use mine"). */
	noticeTtlMs: 15_000,
	/** Confirmations ("Porch steps is created") close sooner. */
	infoNoticeTtlMs: 6_000,
	/** At most this many notices at once: on a phone they must never cover the work. */
	noticeMax: 3
} as const;
