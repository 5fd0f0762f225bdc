import { type CollabLimits, MessageBudget } from './limits.ts';

/** What to do with one inbound sync step 1 (SOCK-1, docs/socket-limits.md). */
export type SyncRequestVerdict = 'forward' | 'coalesce' | 'over_budget';

/** `name\0session` (a session-aware provider's address) → `name`. */
function documentOf(address: string): string {
	const separator = address.indexOf('\0');
	return separator === -1 ? address : address.slice(0, separator);
}

/**
 * One socket's sync step 1s (SOCK-1). Every step 1 makes Hocuspocus encode the whole document as a
 * diff against the sender's state vector (16 ms and 1 MB for a 2,500-material list), and it builds
 * them faster than a socket drains: 20,000 of them once took a server to 19.6 GB.
 *
 * - At most one reply in flight per address: a step 1 arriving while the previous reply has not been
 *   written to the socket is dropped. Nothing is lost: the reply in flight covers everything the
 *   dropped one would have (the client's state only grows), and whatever the server gained since is
 *   broadcast to this connection as ordinary updates.
 * - Every step 1, dropped or not, spends from a per-document allowance (`syncRequestBurst`, refilled
 *   at `syncRequestsPerMinute`); an honest provider sends one per document per connection, so a
 *   socket that runs out is closed (1008).
 */
export class SyncRequests {
	/** Addresses whose step 2 reply has not been written out yet. */
	private readonly inFlight = new Set<string>();
	private readonly budgets = new Map<string, MessageBudget>();

	constructor(
		private readonly limits: Pick<CollabLimits, 'syncRequestBurst' | 'syncRequestsPerMinute'>,
		private readonly nowMs: () => number = Date.now
	) {}

	/** Called for each inbound step 1 addressed to `address`. */
	request(address: string): SyncRequestVerdict {
		// Budgets by document, not address: new session ids must not buy a new allowance.
		const document = documentOf(address);
		let budget = this.budgets.get(document);
		if (!budget) {
			budget = new MessageBudget(
				this.limits.syncRequestsPerMinute / 60,
				this.limits.syncRequestBurst,
				this.nowMs
			);
			this.budgets.set(document, budget);
		}
		if (!budget.take()) return 'over_budget';
		if (this.inFlight.has(address)) return 'coalesce';
		this.inFlight.add(address);
		return 'forward';
	}

	/** Whether any reply is awaited: outbound frames are only read while one is (zero cost otherwise). */
	get awaiting(): boolean {
		return this.inFlight.size > 0;
	}

	isAwaited(address: string): boolean {
		return this.inFlight.has(address);
	}

	/**
	 * The reply to `address` was written to the socket, or will never come (permission denied, the
	 * document connection closed): the next step 1 gets a reply of its own again.
	 */
	settle(address: string): void {
		this.inFlight.delete(address);
	}
}
