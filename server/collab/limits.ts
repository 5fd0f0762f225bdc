/**
 * Flood and size limits for `/collab`: what one socket may make the server hold or do. A reconnect
 * loop in a buggy client, or a hostile one, must cost the server a refusal, not its memory or event
 * loop. The socket-level rules are written down with ids and measurements in docs/socket-limits.md
 * (SOCK-1…SOCK-9); each field names its rule.
 */
export interface CollabLimits {
	/** Open sockets on this instance; beyond it upgrades get 503 (the provider retries with backoff). */
	maxSockets: number;
	/**
	 * Open sockets from one remote address; beyond it upgrades get 429. Behind a reverse proxy every
	 * client shares the proxy's address: raise it there (`MAX_SOCKETS_PER_ADDRESS`).
	 */
	maxSocketsPerAddress: number;
	/** Distinct documents one socket may address; the app multiplexes a few dozen at most (SOCK-7). */
	maxDocumentsPerSocket: number;
	/** Sustained inbound messages per second per socket (token bucket refill rate, SOCK-6). */
	messagesPerSecond: number;
	/** Burst allowance on top of the rate: a long-offline client's first sync sends many at once. */
	messageBurst: number;
	/**
	 * Sync step 1s one socket may send for one document before it is closed (SOCK-1). Each costs the
	 * server a full-document diff; an honest provider sends one per document per connection.
	 */
	syncRequestBurst: number;
	/** Refill of that allowance, per minute (an app calling `forceSync` every 10 s stays inside). */
	syncRequestsPerMinute: number;
	/** Unsent bytes (`ws.bufferedAmount`) a socket may accumulate; beyond it it is closed (SOCK-2). */
	maxUnsentBytes: number;
	/** How long a socket closed for SOCK-2 gets to take its close frame before it is cut. */
	unsentCloseGraceMs: number;
	/** Largest sync step 2 or update message (SOCK-3). */
	maxUpdateBytes: number;
	/** Largest document an update may grow (SOCK-4); measured as its encoded Yjs state. */
	maxDocumentBytes: number;
	/** Largest message of any other kind: sync step 1, awareness, auth, stateless (SOCK-5). */
	maxControlMessageBytes: number;
	/** Sustained inbound bytes per second per socket (SOCK-8). */
	inboundBytesPerSecond: number;
	/** Burst of inbound bytes on top of that rate: a week-offline reconnect of several documents. */
	inboundBytesBurst: number;
}

const MiB = 1024 * 1024;

/** Every default, and why that number: docs/socket-limits.md has the measurements. */
export const collabLimitDefaults: CollabLimits = {
	maxSockets: 20_000,
	maxSocketsPerAddress: 1_000,
	maxDocumentsPerSocket: 200,
	messagesPerSecond: 500,
	messageBurst: 2_000,
	syncRequestBurst: 10,
	syncRequestsPerMinute: 6,
	// Twice the largest document: a fresh client's first sync of it, plus the ordinary traffic.
	maxUnsentBytes: 16 * MiB,
	unsentCloseGraceMs: 2_000,
	// A week offline with 10,000 edits (one transaction each) is one 1.83 MB step 2; over twice that.
	maxUpdateBytes: 4 * MiB,
	// Seven times a 2,500-material list (1.1 MB); a full diff of it costs ~130 ms of event loop.
	maxDocumentBytes: 8 * MiB,
	maxControlMessageBytes: 64 * 1024,
	inboundBytesPerSecond: 1 * MiB,
	inboundBytesBurst: 16 * MiB
};

/** The environment variable of each limit (`server/config.ts` reads them; README lists them). */
export const collabLimitEnv = {
	maxSockets: 'MAX_SOCKETS',
	maxSocketsPerAddress: 'MAX_SOCKETS_PER_ADDRESS',
	maxDocumentsPerSocket: 'MAX_DOCUMENTS_PER_SOCKET',
	messagesPerSecond: 'MESSAGES_PER_SECOND',
	messageBurst: 'MESSAGE_BURST',
	syncRequestBurst: 'SYNC_REQUEST_BURST',
	syncRequestsPerMinute: 'SYNC_REQUESTS_PER_MINUTE',
	maxUnsentBytes: 'MAX_UNSENT_BYTES',
	unsentCloseGraceMs: 'UNSENT_CLOSE_GRACE_MS',
	maxUpdateBytes: 'MAX_UPDATE_BYTES',
	maxDocumentBytes: 'MAX_DOCUMENT_BYTES',
	maxControlMessageBytes: 'MAX_CONTROL_MESSAGE_BYTES',
	inboundBytesPerSecond: 'INBOUND_BYTES_PER_SECOND',
	inboundBytesBurst: 'INBOUND_BYTES_BURST'
} as const satisfies Record<keyof CollabLimits, string>;

/**
 * Token bucket: `take(n)` is false once a socket spends faster than `ratePerSecond` beyond `burst`
 * (messages, or bytes with `n` the message size). A refused take spends nothing. Every socket keeps
 * two or more for its life: a class, so each is one small object and not a closure with its scope
 * (heap after GC, 20,000 made, 2026-12-02: 107 B each, against 234 B as a closure).
 */
export class MessageBudget {
	private tokens: number;
	private lastMs: number;

	constructor(
		private readonly ratePerSecond: number,
		private readonly burst: number,
		private readonly nowMs: () => number = Date.now
	) {
		this.tokens = burst;
		this.lastMs = nowMs();
	}

	take(n = 1): boolean {
		const now = this.nowMs();
		this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) / 1000) * this.ratePerSecond);
		this.lastMs = now;
		if (this.tokens < n) return false;
		this.tokens -= n;
		return true;
	}
}

/** Counts open sockets per remote address, for the upgrade check. */
export class SocketCounter {
	private readonly byAddress = new Map<string, number>();
	private total = 0;

	constructor(private readonly limits: Pick<CollabLimits, 'maxSockets' | 'maxSocketsPerAddress'>) {}

	/** Why a new socket from `address` is refused, or undefined when it may open. */
	refusal(address: string): { status: 429 | 503; reason: string } | undefined {
		if (this.total >= this.limits.maxSockets) return { status: 503, reason: 'Service Unavailable' };
		if ((this.byAddress.get(address) ?? 0) >= this.limits.maxSocketsPerAddress) {
			return { status: 429, reason: 'Too Many Requests' };
		}
		return undefined;
	}

	opened(address: string): void {
		this.total++;
		this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
	}

	closed(address: string): void {
		this.total--;
		const left = (this.byAddress.get(address) ?? 1) - 1;
		if (left > 0) this.byAddress.set(address, left);
		else this.byAddress.delete(address);
	}
}
