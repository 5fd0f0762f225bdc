import { covers, type StateVector } from '$wire/durability.ts';

/**
 * Local changes not yet durable on the server, tracked by us rather than trusted to the provider's
 * `unsyncedChanges` (which has been seen stuck after reconnects, hocuspocus #825) and persisted,
 * so a reload while offline still knows what has not reached the server. A change is identified
 * by the (clientID, clock) its transaction ended at; the server's durable state vector covering
 * it is the only thing that clears it. Clients differ per session, so old sessions' changes stay
 * tracked under their own clientID until the server has them.
 */
export interface PendingChange {
	/** Yjs clientID of the session that made it. */
	c: number;
	/** Clock after the change (state of `c` once the change was applied). */
	k: number;
	/** When it was made (ms). */
	at: number;
	/** The server acknowledged receiving it (provider in sync), not yet durably stored. */
	r?: boolean;
	/** What it changed (`editKey`): only changes of the same thing merge into one. */
	f?: string;
}

export interface PendingStore {
	load(docName: string): PendingChange[];
	save(docName: string, changes: PendingChange[]): void;
	/** Names of documents with changes saved, for resuming them at start-up. */
	names(): string[];
}

const PREFIX = 'khs:pending:';

export function localStoragePendingStore(storage: Storage): PendingStore {
	return {
		load(docName) {
			try {
				const parsed = JSON.parse(storage.getItem(PREFIX + docName) ?? '[]') as unknown;
				return Array.isArray(parsed) ? (parsed as PendingChange[]) : [];
			} catch {
				return [];
			}
		},
		save(docName, changes) {
			if (changes.length === 0) storage.removeItem(PREFIX + docName);
			else storage.setItem(PREFIX + docName, JSON.stringify(changes));
		},
		names() {
			const names: string[] = [];
			for (let i = 0; i < storage.length; i++) {
				const key = storage.key(i);
				if (key?.startsWith(PREFIX)) names.push(key.slice(PREFIX.length));
			}
			return names;
		}
	};
}

export class PendingTracker {
	private changes: PendingChange[];

	constructor(
		readonly docName: string,
		private readonly store: PendingStore,
		private readonly burstMs: number,
		private readonly onChange: (count: number) => void = () => {}
	) {
		this.changes = store.load(docName);
	}

	get count(): number {
		return this.changes.length;
	}

	/** Changes the server has not even received yet. */
	get unsent(): number {
		return this.changes.filter((c) => !c.r).length;
	}

	get oldest(): number | null {
		return this.changes[0]?.at ?? null;
	}

	list(): readonly PendingChange[] {
		return this.changes;
	}

	/**
	 * Records a local transaction that ended at (clientId, clock). A burst of edits of the same
	 * thing (typing in one field, tapping + five times) is one change; edits of different things
	 * are separate changes however close together, so "4 to send" means four edits.
	 */
	record(clientId: number, clock: number, now = Date.now(), key?: string): void {
		const last = this.changes.at(-1);
		if (last && last.c === clientId && !last.r && last.f === key && now - last.at < this.burstMs) {
			this.changes[this.changes.length - 1] = { ...last, k: Math.max(last.k, clock), at: now };
		} else {
			this.changes.push(
				key === undefined ? { c: clientId, k: clock, at: now } : { c: clientId, k: clock, at: now, f: key }
			);
		}
		this.persist();
	}

	/** The provider reports nothing unsent: every change made so far reached the server. */
	markReceived(): void {
		if (this.changes.every((c) => c.r)) return;
		this.changes = this.changes.map((c) => ({ ...c, r: true }));
		this.persist();
	}

	/** Access to the document ended: its changes can never be sent, so they stop counting. */
	discard(): void {
		if (this.changes.length === 0) return;
		this.changes = [];
		this.persist();
	}

	/** The server's durable state vector: drop every change it covers. */
	acknowledge(sv: StateVector): void {
		const left = this.changes.filter((c) => !covers(sv, c.c, c.k));
		if (left.length === this.changes.length) return;
		this.changes = left;
		this.persist();
	}

	private persist(): void {
		try {
			this.store.save(this.docName, this.changes);
		} catch {
			// Storage full: the count stays right for this session; IndexedDB still has the edits.
		}
		this.onChange(this.changes.length);
	}
}
