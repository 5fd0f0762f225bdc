/**
 * Flood limits for `/collab` (issue 3: "floods of connections or documents: the server answers
 * with a clean close and keeps serving everyone else"). A reconnect loop in a buggy client, or a
 * hostile one, must cost the server a refusal, not its memory or event loop.
 */
export interface CollabLimits {
	/** Open sockets on this instance; beyond it upgrades get 503 (the provider retries with backoff). */
	maxSockets: number;
	/**
	 * Open sockets from one remote address; beyond it upgrades get 429. Behind a reverse proxy every
	 * client shares the proxy's address: raise it there (`MAX_SOCKETS_PER_ADDRESS`).
	 */
	maxSocketsPerAddress: number;
	/** Distinct documents one socket may address; the app multiplexes a few dozen at most. */
	maxDocumentsPerSocket: number;
	/** Sustained inbound messages per second per socket (token bucket refill rate). */
	messagesPerSecond: number;
	/** Burst allowance on top of the rate: a long-offline client's first sync sends many at once. */
	messageBurst: number;
}

export const collabLimitDefaults: CollabLimits = {
	maxSockets: 20_000,
	maxSocketsPerAddress: 1_000,
	maxDocumentsPerSocket: 200,
	messagesPerSecond: 500,
	messageBurst: 2_000
};

/** Token bucket: `take()` is false once a socket sends faster than `ratePerSecond` beyond `burst`. */
export function messageBudget(ratePerSecond: number, burst: number, nowMs: () => number = Date.now) {
	let tokens = burst;
	let lastMs = nowMs();
	return {
		take(): boolean {
			const now = nowMs();
			tokens = Math.min(burst, tokens + ((now - lastMs) / 1000) * ratePerSecond);
			lastMs = now;
			if (tokens < 1) return false;
			tokens -= 1;
			return true;
		}
	};
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
