import type { SyncOperation } from '../sync/operation.ts';

/**
 * Pluggable persistence of the client's queue and sync token. Isomorphic: `MemoryStorage` and
 * `IndexedDbStorage` (browsers, or `fake-indexeddb` in Node) live here; the Node file store is
 * `file-storage.ts`, kept apart so browser bundles never import `node:fs`.
 */
export interface QueuedOperation extends SyncOperation {
	queuedAt: number;
	retryCount: number;
	status: 'pending' | 'failed';
	nextRetryAt: number;
	lastError?: string;
}

export interface ClientState {
	queue: QueuedOperation[];
	syncToken?: string | undefined;
}

/** Where a client keeps its state between runs. `save` must be durable when it resolves. */
export interface ClientStorage {
	load(): Promise<ClientState>;
	save(state: ClientState): Promise<void>;
}

export class MemoryStorage implements ClientStorage {
	private state: ClientState = { queue: [] };
	async load(): Promise<ClientState> {
		return structuredClone(this.state);
	}
	async save(state: ClientState): Promise<void> {
		this.state = structuredClone(state);
	}
}

/** One IndexedDB object store holding the state under a fixed key. */
export class IndexedDbStorage implements ClientStorage {
	constructor(
		private readonly dbName = 'khs-sync-client',
		private readonly factory: IDBFactory = indexedDB
	) {}

	private open(): Promise<IDBDatabase> {
		return new Promise((resolve, reject) => {
			const request = this.factory.open(this.dbName, 1);
			request.onupgradeneeded = () => request.result.createObjectStore('state');
			request.onsuccess = () => resolve(request.result);
			request.onerror = () => reject(request.error);
		});
	}

	private async run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
		const db = await this.open();
		try {
			return await new Promise<T>((resolve, reject) => {
				const tx = db.transaction('state', mode);
				const request = work(tx.objectStore('state'));
				// Resolve on commit, not on request success: only then is the write durable.
				tx.oncomplete = () => resolve(request.result);
				tx.onerror = () => reject(tx.error);
				tx.onabort = () => reject(tx.error);
			});
		} finally {
			db.close();
		}
	}

	async load(): Promise<ClientState> {
		const state = await this.run<ClientState | undefined>('readonly', (s) => s.get('state'));
		return state ?? { queue: [] };
	}

	async save(state: ClientState): Promise<void> {
		await this.run('readwrite', (s) => s.put(state, 'state'));
	}
}
