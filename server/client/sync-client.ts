import { ENTITY_NAMES, type EntityName } from '../../crdt/schema.ts';
import { entityChecksum } from '../../wire/canonical.ts';
import { OperationBatcher } from '../sync/batcher.ts';
import type { EntityChange, EntityDeletion, PullPage } from '../sync/change-feed.ts';
import type { SyncOperation } from '../sync/operation.ts';
import type { ProcessedOperation, PushResult } from '../sync/push.ts';
import { backoffDelayMs, clientDefaults } from './backoff.ts';
import type { ClientState, ClientStorage, QueuedOperation } from './storage.ts';

/**
 * The spec's client side for API consumers (docs/product-spec.md "Sync protocol (SyncAPI, SyncProtocol)"): a persistent operation
 * queue with backoff, batching + `optimize`, paging pull until `hasMore` is false, and differential
 * sync by checksums. Isomorphic (fetch, Web Crypto); storage is pluggable (storage.ts).
 */
export type { EntityName };

/** The consumer's local copy of entities, as pulled (data includes `version`). */
export interface LocalEntityStore {
	all(entity: EntityName): Promise<Map<string, Record<string, unknown>>>;
	put(entity: EntityName, id: string, data: Record<string, unknown>): Promise<void>;
	remove(entity: EntityName, id: string): Promise<void>;
}

export class MemoryEntityStore implements LocalEntityStore {
	readonly maps: Record<EntityName, Map<string, Record<string, unknown>>> = {
		customer: new Map(),
		job: new Map(),
		material: new Map()
	};
	async all(entity: EntityName) {
		return new Map(this.maps[entity]);
	}
	async put(entity: EntityName, id: string, data: Record<string, unknown>) {
		this.maps[entity].set(id, data);
	}
	async remove(entity: EntityName, id: string) {
		this.maps[entity].delete(id);
	}
}

export interface SyncClientOptions {
	baseUrl: string;
	token: () => string;
	deviceId: string;
	storage: ClientStorage;
	local: LocalEntityStore;
	fetch?: typeof fetch;
	now?: () => number;
	retryLimit?: number;
	/** Called once for each operation that became `failed` (kept in the queue, never dropped). */
	onFailed?: (op: QueuedOperation) => void;
	/** Deleted entities: kept locally as tombstones (default) or removed. */
	keepDeleted?: boolean;
	/**
	 * Told after the client resynced by itself because the server answered 410 `resync_required`
	 * (its token was older than the change log's retention horizon, docs/server-rules.md FEED-4).
	 */
	onResync?: (event: ResyncEvent) => void;
}

/** A full resync the client did on its own (FEED-4). */
export interface ResyncEvent {
	/** The server's explanation from the 410 body. */
	reason: string;
	/** Local entities dropped before the full pull (it put back everything that still exists). */
	discarded: number;
	/** How many resyncs this client has done since it was created. */
	count: number;
}

/** Resyncs one pull() may start before giving up (retention passing a full pull mid-way, repeatedly). */
const MAX_RESYNCS_PER_PULL = 3;

export class SyncHttpError extends Error {
	override readonly name = 'SyncHttpError';
	constructor(
		readonly status: number,
		readonly code: string,
		message: string
	) {
		super(message);
	}
}

export interface PushSummary {
	sent: number;
	processed: ProcessedOperation[];
	conflicts: PushResult['conflicts'];
	failed: number;
}

export class SyncClient {
	private state: ClientState = { queue: [] };
	private loaded: Promise<void> | undefined;
	private readonly batcher = new OperationBatcher();
	private readonly fetchImpl: typeof fetch;
	private readonly now: () => number;
	private resyncs = 0;

	constructor(private readonly options: SyncClientOptions) {
		this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
		this.now = options.now ?? Date.now;
	}

	private async ready(): Promise<void> {
		this.loaded ??= this.options.storage.load().then((state) => {
			this.state = state;
		});
		await this.loaded;
	}

	private persist(): Promise<void> {
		return this.options.storage.save(this.state);
	}

	/** Queues an operation durably (spec `enqueue`). */
	async enqueue(op: Omit<SyncOperation, 'clientId'>): Promise<void> {
		await this.ready();
		const now = this.now();
		this.state.queue.push({
			...op,
			clientId: this.options.deviceId,
			queuedAt: now,
			retryCount: 0,
			status: 'pending',
			nextRetryAt: now
		});
		await this.persist();
	}

	async queue(): Promise<QueuedOperation[]> {
		await this.ready();
		return structuredClone(this.state.queue);
	}

	get syncToken(): string | undefined {
		return this.state.syncToken;
	}

	/** Full resyncs done after 410 resync_required since this client was created. */
	get resyncCount(): number {
		return this.resyncs;
	}

	/** When the next pending operation may be retried (ms epoch), or undefined when none waits. */
	async nextRetryAt(): Promise<number | undefined> {
		await this.ready();
		const pending = this.state.queue.filter((q) => q.status === 'pending').map((q) => q.nextRetryAt);
		return pending.length > 0 ? Math.min(...pending) : undefined;
	}

	/** Puts failed operations back in line (after the user fixed the cause). */
	async retryFailed(): Promise<void> {
		await this.ready();
		for (const q of this.state.queue)
			if (q.status === 'failed')
				Object.assign(q, { status: 'pending', retryCount: 0, nextRetryAt: this.now() });
		await this.persist();
	}

	private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await this.fetchImpl(`${this.options.baseUrl}${path}`, {
			method,
			headers: {
				authorization: `Bearer ${this.options.token()}`,
				'accept-encoding': 'br, gzip',
				...(body === undefined ? {} : { 'content-type': 'application/json' })
			},
			...(body === undefined ? {} : { body: JSON.stringify(body) })
		});
		const parsed = (await res.json().catch(() => ({}))) as T & { error?: { code: string; message: string } };
		if (!res.ok)
			throw new SyncHttpError(
				res.status,
				parsed.error?.code ?? 'http_error',
				parsed.error?.message ?? `HTTP ${res.status}`
			);
		return parsed;
	}

	private fail(q: QueuedOperation, error: string): void {
		q.retryCount++;
		q.lastError = error;
		q.nextRetryAt = this.now() + backoffDelayMs(q.retryCount);
		if (q.retryCount > (this.options.retryLimit ?? clientDefaults.retryLimit)) {
			q.status = 'failed';
			this.options.onFailed?.(structuredClone(q));
		}
	}

	/**
	 * Sends up to 100 due operations, optimized (one per entity, merged). Applied, merged and duplicate
	 * operations leave the queue; rejected ones and network/5xx failures back off (1 s, 2 s, 4 s… 30 s)
	 * and become `failed` after the retry limit.
	 */
	async push(): Promise<PushSummary> {
		await this.ready();
		const now = this.now();
		const due = this.state.queue
			.filter((q) => q.status === 'pending' && q.nextRetryAt <= now)
			.slice(0, clientDefaults.pushBatchSize);
		if (due.length === 0) return { sent: 0, processed: [], conflicts: [], failed: 0 };
		const units = this.batcher.coalesce(
			due.map(({ queuedAt: _q, retryCount: _r, status: _s, nextRetryAt: _n, lastError: _e, ...op }) => op)
		);
		const byId = new Map(due.map((q) => [q.id, q]));
		let result: PushResult;
		try {
			result = await this.request<PushResult>('POST', '/api/sync/push', {
				operations: units.map((u) => u.op),
				deviceId: this.options.deviceId,
				...(this.state.syncToken ? { lastSyncToken: this.state.syncToken } : {})
			});
		} catch (error) {
			// 4xx on the envelope is as permanent as a rejection; 5xx and network errors are transient.
			for (const q of due) this.fail(q, (error as Error).message);
			await this.persist();
			return {
				sent: units.length,
				processed: [],
				conflicts: [],
				failed: due.filter((q) => q.status === 'failed').length
			};
		}
		const done = new Set<string>();
		for (const p of result.processed) {
			const unit = units.find((u) => u.op.id === p.operationId);
			for (const id of unit?.sourceIds ?? []) {
				const q = byId.get(id);
				if (!q) continue;
				if (p.status === 'rejected') this.fail(q, `${p.error?.code}: ${p.error?.message}`);
				else done.add(id);
			}
		}
		this.state.queue = this.state.queue.filter((q) => !done.has(q.id));
		await this.persist();
		return {
			sent: units.length,
			processed: result.processed,
			conflicts: result.conflicts,
			failed: due.filter((q) => q.status === 'failed').length
		};
	}

	/**
	 * Pages from the stored token until `hasMore` is false, applying each page, then stores the token.
	 * A 410 `resync_required` (token behind the retention horizon) discards the local copy of the
	 * pulled entities and pulls everything from no token (FEED-4); queued operations are kept.
	 */
	async pull(entities?: readonly EntityName[]): Promise<{ changes: number; deletions: number }> {
		await this.ready();
		for (let attempt = 0; ; attempt++) {
			try {
				return await this.pullPages(entities);
			} catch (error) {
				const resync =
					error instanceof SyncHttpError && error.status === 410 && error.code === 'resync_required';
				if (!resync || attempt >= MAX_RESYNCS_PER_PULL) throw error;
				const discarded = await this.discardLocal(entities);
				this.state.syncToken = undefined;
				await this.persist();
				this.resyncs++;
				this.options.onResync?.({ reason: error.message, discarded, count: this.resyncs });
			}
		}
	}

	private async discardLocal(entities?: readonly EntityName[]): Promise<number> {
		let discarded = 0;
		for (const entity of entities ?? ENTITY_NAMES) {
			for (const id of (await this.options.local.all(entity)).keys()) {
				await this.options.local.remove(entity, id);
				discarded++;
			}
		}
		return discarded;
	}

	private async pullPages(entities?: readonly EntityName[]): Promise<{ changes: number; deletions: number }> {
		let changes = 0;
		let deletions = 0;
		for (;;) {
			const query = new URLSearchParams({
				limit: String(clientDefaults.pullLimit),
				deviceId: this.options.deviceId
			});
			if (this.state.syncToken) query.set('lastSyncToken', this.state.syncToken);
			if (entities) query.set('entities', entities.join(','));
			const page = await this.request<PullPage>('GET', `/api/sync/pull?${query}`);
			await this.apply(page.changes, page.deletions);
			changes += page.changes.length;
			deletions += page.deletions.length;
			// Saved per page: a crash mid-way resumes after the last page applied, never skips one.
			this.state.syncToken = page.syncToken;
			await this.persist();
			if (!page.hasMore) return { changes, deletions };
		}
	}

	private async apply(changes: EntityChange[], deletions: EntityDeletion[]): Promise<void> {
		for (const c of changes) await this.options.local.put(c.entity, c.entityId, c.data);
		for (const d of deletions) {
			if (this.options.keepDeleted === false) await this.options.local.remove(d.entity, d.entityId);
			else await this.options.local.put(d.entity, d.entityId, d.data);
		}
	}

	/** The spec's performSync: push, then pull. */
	async sync(): Promise<{ pushed: PushSummary; pulled: { changes: number; deletions: number } }> {
		const pushed = await this.push();
		const pulled = await this.pull();
		return { pushed, pulled };
	}

	/**
	 * The spec's DifferentialSync by checksums: compares local and server checksums of `entity`;
	 * missing and different entities are fetched (a full pull of that entity, keeping only those),
	 * extra local ones are pushed as creates.
	 */
	async differentialSync(entity: EntityName): Promise<{ pulled: number; pushed: number; updated: number }> {
		await this.ready();
		const local = await this.options.local.all(entity);
		const { checksums: remote } = await this.request<{ checksums: Record<string, string> }>(
			'GET',
			`/api/sync/checksums/${entity}`
		);
		const missing: string[] = [];
		const different: string[] = [];
		for (const [id, sum] of Object.entries(remote)) {
			const mine = local.get(id);
			if (!mine) missing.push(id);
			else if ((await entityChecksum(mine)) !== sum) different.push(id);
		}
		const extra = [...local.keys()].filter((id) => !(id in remote));
		const wanted = new Set([...missing, ...different]);
		if (wanted.size > 0) {
			let token: string | undefined;
			for (;;) {
				const query = new URLSearchParams({ entities: entity, limit: '5000' });
				if (token) query.set('lastSyncToken', token);
				const page = await this.request<PullPage>('GET', `/api/sync/pull?${query}`);
				await this.apply(
					page.changes.filter((c) => wanted.has(c.entityId)),
					page.deletions.filter((d) => wanted.has(d.entityId))
				);
				token = page.syncToken;
				if (!page.hasMore) break;
			}
		}
		for (const id of extra) {
			const { version: _v, updatedAt: _u, ...data } = local.get(id) as Record<string, unknown>;
			await this.enqueue({
				id: crypto.randomUUID(),
				timestamp: this.now(),
				type: 'create',
				entity,
				entityId: id,
				data
			});
		}
		if (extra.length > 0) await this.push();
		return { pulled: missing.length, pushed: extra.length, updated: different.length };
	}
}
