import type {
	Connection,
	connectedPayload,
	Document,
	Extension,
	onChangePayload,
	onLoadDocumentPayload
} from '@hocuspocus/server';
import { isTransactionOrigin } from '@hocuspocus/server';
import pino, { type Logger } from 'pino';
import * as Y from 'yjs';
import { encodeDurableAck } from '../../wire/durability.ts';
import type { DocStore, HeldBasis, HeldState, Seq } from '../docs/store.ts';
import { DurableClock } from './durable-clock.ts';
import { type UpdateMeta, UpdateMetaCache } from './update-meta.ts';

/** Tunables of the persistence extension (units in the names). */
export interface PersistenceSettings {
	compactEveryUpdates: number;
	compactOnUnload: boolean;
	appendRetries: number;
	appendRetryDelayMs: number;
	appendRetryMaxDelayMs: number;
	logRemoteUpdates: boolean;
}

/** Defaults of the persistence extension. */
export const persistenceDefaults: Readonly<PersistenceSettings> = {
	/** Compact a document in the background after this many updates were appended to its log. */
	compactEveryUpdates: 500,
	/** Also compact (in the background) when a document with new updates is unloaded. */
	compactOnUnload: true,
	/**
	 * A failed append is retried this many times before the update is given up as not durable: by
	 * default never while the server runs. A given-up update exists only in memory, and because acks
	 * are a contiguous range per writer, every later edit of its writer then stays unacknowledged for
	 * as long as the document is loaded (fault suite, "Postgres stopped 30 s": with 8 retries ≈ 16 s
	 * the acks of a connected device stopped at the outage and never resumed). Only shutdown (the
	 * store's `CLOSED`) gives up.
	 */
	appendRetries: Number.POSITIVE_INFINITY,
	/** First retry delay; doubled per attempt up to `appendRetryMaxDelayMs`. */
	appendRetryDelayMs: 100,
	appendRetryMaxDelayMs: 5_000,
	/**
	 * Also log updates that arrived from another instance through the Redis extension. Off: the
	 * instance that received the update from its client logs it (see the module comment).
	 */
	logRemoteUpdates: false
};

export interface PersistenceOptions extends Partial<PersistenceSettings> {
	store: DocStore;
	logger?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
	/** Called when a batch of a document's updates became durable (for metrics: durability lag). */
	onDurable?(info: { documentName: string; updates: number; oldestAppendMs: number }): void;
}

/** The extension plus the controls the server's shutdown and tests need. */
export interface PersistenceExtension extends Extension {
	/** Resolves when every update seen so far is committed (or given up) and its ack was sent. */
	flush(): Promise<void>;
	/**
	 * Resolves once `documentName`'s durable state covers `stateVector` (per client, the clock below
	 * which every struct must be committed) — at once when it already does. Rejects with
	 * `NotDurableError` when an append of that document is given up, or at shutdown: what it waits
	 * for will then never be durable. The document must be loaded (a direct connection holds it).
	 *
	 * The condition a server-side writer (REST push) waits on: it needs no knowledge of when
	 * Hocuspocus' `onChange` chain reaches this extension, unlike `flush`, which only sees appends
	 * already started.
	 */
	whenDurable(documentName: string, stateVector: ReadonlyMap<number, number>): Promise<void>;
	/** Updates handed to the store and not yet committed. */
	readonly pendingAppends: number;
}

/** What `whenDurable` rejects with: the awaited updates will not become durable. */
export class NotDurableError extends Error {
	override readonly name = 'NotDurableError';
	constructor(
		readonly code: 'append_given_up' | 'shut_down' | 'not_loaded',
		readonly documentName: string
	) {
		super(`updates of ${documentName} will not become durable (${code})`);
	}
}

interface DurableWaiter {
	needs: ReadonlyMap<number, number>;
	resolve(): void;
	reject(error: NotDurableError): void;
}

/** What one connection is owed for one client's structs. */
interface Owed {
	/** The clock the connection's own updates reached. */
	needed: number;
	/** The durable clock of that client the connection was last acked with. */
	told: number;
}

interface DocState {
	document: Document;
	clock: DurableClock;
	appendedSinceCompaction: number;
	/** Updates committed since the last ack, and when the oldest of them was appended. */
	unacked: number;
	oldestUnackedAt: number;
	ackScheduled: boolean;
	/** The compaction running now, if any. */
	compacting: Promise<void> | null;
	/**
	 * Connections owed an ack: per client, the clock the connection's own updates reached and the
	 * durable clock it was last told. An ack goes to a connection when a commit moved its own
	 * updates' durable part on (see `sendDueAcks`).
	 */
	owed: Map<Connection, Map<number, Owed>>;
	/** `whenDurable` calls still waiting for this document's durable state. */
	waiters: Set<DurableWaiter>;
	/** What `document` is known to contain of the stored state: lets compaction write it as is. */
	basis: HeldBasis;
	/** This document's appends not yet settled (unload waits for them before compacting). */
	appending: Set<Promise<void>>;
}

/**
 * Hocuspocus persistence on the update log (docs/architecture.md "Durability").
 *
 * - Load: snapshot + tail from the store, applied in `onLoadDocument`.
 * - Every change: `onChange` appends the update bytes to the log (group commit). We do NOT use
 *   `onStoreDocument`: it stores the whole document after a 2 s debounce, so a crash loses the window
 *   (docs/pitfalls.md "Hocuspocus"). When a commit lands, the connections whose own updates it covers
 *   get a stateless `khs:durable` ack with the durable state vector (see `wire/durability.ts`); every
 *   connection also gets one when it connects.
 * - Compaction runs in the background after `compactEveryUpdates` appends (and on unload); it never
 *   blocks message handling, and it is safe against other instances (see `DocStore.compact`). It
 *   hands the store the document as held in memory, with the log rows it is known to contain (those
 *   loaded with it and those appended from it), so the store writes that state as the snapshot
 *   instead of applying the snapshot and log again.
 *
 * Origins (Hocuspocus 4 `isTransactionOrigin`): `connection` and `local` (server-side transactions,
 * e.g. compensating writes, REST pushes) are logged. `redis` — an update another instance received
 * from its own client and already logs — is skipped by default (one row per update, not one per
 * instance). Its structs are counted as durable here without waiting: the receiving instance only
 * acks them after its own commit, so the only over-claim is a client that moved between instances
 * while its earlier edits were still in flight there. Set `logRemoteUpdates` to log them too.
 *
 * Acks go to this instance's connections only (`sendStateless`, no Redis relay): each instance
 * vouches for what it committed.
 */
export function createPersistenceExtension(options: PersistenceOptions): PersistenceExtension {
	const settings = { ...persistenceDefaults, ...options };
	const { store } = options;
	const logger = options.logger ?? pino({ level: 'silent' });
	const docs = new Map<string, DocState>();
	const metas = new UpdateMetaCache();
	const inFlight = new Set<Promise<unknown>>();
	let pendingAppends = 0;
	let destroyed = false;

	function track(promise: Promise<unknown>): void {
		inFlight.add(promise);
		const forget = () => inFlight.delete(promise);
		promise.then(forget, forget);
	}

	/** The committed row's seq, or `null` when the append was given up. */
	async function appendWithRetry(documentName: string, update: Uint8Array): Promise<Seq | null> {
		let delayMs = settings.appendRetryDelayMs;
		for (let attempt = 0; ; attempt++) {
			try {
				return await store.appendUpdate(documentName, update);
			} catch (error) {
				const giveUp = attempt >= settings.appendRetries || (error as { code?: string }).code === 'CLOSED';
				// Attempts 0, 1, 2, 4, 8…: an outage of minutes under load must not flood the log.
				if (giveUp || (attempt & (attempt - 1)) === 0) {
					logger.error(
						{ err: error, documentName, attempt, bytes: update.byteLength },
						giveUp ? 'update NOT durable: giving up' : 'append failed, retrying'
					);
				}
				if (giveUp) return null;
				// Backoff of a retry, not a wait standing in for a condition.
				await new Promise((resolve) => setTimeout(resolve, delayMs));
				delayMs = Math.min(delayMs * 2, settings.appendRetryMaxDelayMs);
			}
		}
	}

	function scheduleAck(documentName: string, state: DocState): void {
		if (state.ackScheduled) return;
		state.ackScheduled = true;
		// One ack per document per group commit: every append of the batch resolves in this tick.
		queueMicrotask(() => {
			state.ackScheduled = false;
			options.onDurable?.({
				documentName,
				updates: state.unacked,
				oldestAppendMs: performance.now() - state.oldestUnackedAt
			});
			state.unacked = 0;
			sendDueAcks(state);
		});
	}

	/**
	 * Acks go only to connections whose own updates this commit moved on (plus one on connect).
	 * bench:server's profile: broadcasting every group commit's ack to all ~10 connections of a
	 * document was ~5 s of socket writes; the clients (src/lib/sync, tests' writers) only use acks
	 * for their own edits. Progress, not full coverage: a writer that sends faster than one commit
	 * (a steady backlog) was never fully covered, so it got no ack at all for as long as it kept
	 * writing (crash test under CI load: none in 30 s).
	 *
	 * An ack carries the durable clocks of the clients whose structs that connection sent, not the
	 * whole document's vector (ACK-2, docs/server-rules.md): every app session is a new Yjs client,
	 * so a job edited for months holds thousands, and the whole vector on every edit's ack grew with
	 * them (1,000 past clients: 7.9 KB per ack against 51 B, persistence.test.ts); the connect ack
	 * still carries the whole vector (ACK-1).
	 */
	function sendDueAcks(state: DocState): void {
		for (const [connection, owed] of state.owed) {
			if (!state.document.hasConnection(connection)) {
				state.owed.delete(connection);
				continue;
			}
			let moved = false;
			const acked = new Map<number, number>();
			for (const [client, entry] of owed) {
				const clock = state.clock.get(client);
				const durable = Math.min(clock, entry.needed);
				if (durable > entry.told) {
					entry.told = durable;
					moved = true;
				}
				acked.set(client, clock);
				if (durable >= entry.needed) owed.delete(client);
			}
			if (owed.size === 0) state.owed.delete(connection);
			if (moved) connection.sendStateless(encodeDurableAck(Y.encodeStateVector(acked)));
		}
	}

	/** Settles the waiters of `state` that its durable clock now covers. */
	function wakeWaiters(state: DocState): void {
		for (const waiter of state.waiters) {
			if (!covers(state.clock, waiter.needs)) continue;
			state.waiters.delete(waiter);
			waiter.resolve();
		}
	}

	function failWaiters(state: DocState, code: NotDurableError['code'], documentName: string): void {
		for (const waiter of state.waiters) waiter.reject(new NotDurableError(code, documentName));
		state.waiters.clear();
	}

	function covers(clock: DurableClock, needs: ReadonlyMap<number, number>): boolean {
		for (const [client, needed] of needs) if (clock.get(client) < needed) return false;
		return true;
	}

	/** Remembers that `connection` sent structs up to `to` (per client): it is owed an ack covering them. */
	function owe(state: DocState, connection: Connection, to: Map<number, number>): void {
		const owed = state.owed.get(connection) ?? new Map<number, Owed>();
		for (const [client, clock] of to) {
			const entry = owed.get(client);
			if (entry) entry.needed = Math.max(entry.needed, clock);
			else owed.set(client, { needed: clock, told: state.clock.get(client) });
		}
		state.owed.set(connection, owed);
	}

	/**
	 * The document as held now: its state encoded in this tick, with the rows committed so far (all
	 * applied to it before they were appended; an append still in flight is not named and stays).
	 */
	function heldNow(state: DocState): HeldState {
		return {
			state: Y.encodeStateAsUpdate(state.document),
			basis: { snapshotVersion: state.basis.snapshotVersion, seqs: new Set(state.basis.seqs) },
			contains: Y.snapshot(state.document)
		};
	}

	/** Compacts `state`'s document from its held copy. */
	function compactInBackground(documentName: string, state: DocState): void {
		if (state.compacting) return;
		state.appendedSinceCompaction = 0;
		const held = heldNow(state);
		const started = performance.now();
		const run = store
			.compact(documentName, held)
			.then((result) => {
				// The copy now contains the snapshot written from it; a folded log leaves that unknown.
				state.basis.snapshotVersion = result.heldVersion;
				for (const seq of held.basis.seqs) state.basis.seqs.delete(seq);
				const { foldedUpdates, snapshotBytes, heldVersion } = result;
				const ms = Math.round(performance.now() - started);
				logger.debug(
					{ documentName, foldedUpdates, snapshotBytes, fromMemory: heldVersion !== null, ms },
					'compacted'
				);
			})
			.catch((error: unknown) => {
				logger.error({ err: error, documentName }, 'compaction failed');
			})
			.finally(() => {
				state.compacting = null;
			});
		state.compacting = run;
		track(run);
	}

	/** `holder`: the loaded document the update was applied to, whose copy then contains the row. */
	async function persist(
		documentName: string,
		update: Uint8Array,
		meta: UpdateMeta,
		holder: DocState | undefined
	) {
		const appendedAt = performance.now();
		pendingAppends++;
		const appending = appendWithRetry(documentName, update).finally(() => {
			pendingAppends--;
		});
		// A server-side writer (REST push) is waiting for this document: no window for company.
		if ((docs.get(documentName)?.waiters.size ?? 0) > 0) store.commitNow();
		const committed = await appending;
		if (committed !== null) holder?.basis.seqs.add(committed);
		if (committed === null) {
			// Its structs never become durable, so nothing waiting on them may wait on.
			const state = docs.get(documentName);
			if (state) failWaiters(state, 'append_given_up', documentName);
			return;
		}
		// Looked up now, not captured: if the document was unloaded and reloaded meanwhile, marking a
		// committed range durable is still true.
		const state = docs.get(documentName);
		if (!state) return;
		state.clock.add(meta);
		wakeWaiters(state);
		if (state.unacked === 0) state.oldestUnackedAt = appendedAt;
		state.unacked++;
		scheduleAck(documentName, state);
		state.appendedSinceCompaction++;
		if (state.appendedSinceCompaction >= settings.compactEveryUpdates && !destroyed) {
			compactInBackground(documentName, state);
		}
	}

	return {
		extensionName: 'khs-persistence',

		get pendingAppends() {
			return pendingAppends;
		},

		async onLoadDocument({ documentName, document }: onLoadDocumentPayload) {
			// Appends of this document from before an unload may still be in flight: wait, so the loaded
			// state (and so the initial durable vector) includes them.
			await store.flush();
			const stored = await store.loadHeld(documentName);
			if (stored) Y.applyUpdate(document, stored.state);
			metas.watch(document);
			docs.set(documentName, {
				document,
				clock: new DurableClock(Y.decodeStateVector(Y.encodeStateVector(document))),
				appendedSinceCompaction: 0,
				unacked: 0,
				oldestUnackedAt: 0,
				ackScheduled: false,
				compacting: null,
				owed: new Map(),
				waiters: new Set(),
				basis: stored?.basis ?? { snapshotVersion: 0, seqs: new Set() },
				appending: new Set()
			});
		},

		// Never throws and never awaits the commit: Hocuspocus does not await onChange hook chains (a
		// rejection would be unhandled) and later extensions' onChange would wait behind our commit.
		async onChange({ documentName, document, update, transactionOrigin }: onChangePayload) {
			try {
				const meta = metas.metaOf(update);
				const remote = isTransactionOrigin(transactionOrigin) && transactionOrigin.source === 'redis';
				if (remote && !settings.logRemoteUpdates) {
					const remoteState = docs.get(documentName);
					remoteState?.clock.add(meta);
					if (remoteState) wakeWaiters(remoteState);
					return;
				}
				const state = docs.get(documentName);
				if (state && isTransactionOrigin(transactionOrigin) && transactionOrigin.source === 'connection')
					owe(state, transactionOrigin.connection, meta.to);
				// Hocuspocus' onChange chain can reach us after the document was unloaded and loaded again
				// (fault suite, Postgres restarted): the new copy may lack this update, so only the copy it
				// was applied to may count its row as contained.
				const holder = state?.document === document ? state : undefined;
				const appended = persist(documentName, update, meta, holder);
				track(appended);
				if (holder) {
					holder.appending.add(appended);
					const settled = () => holder.appending.delete(appended);
					appended.then(settled, settled);
				}
			} catch (error) {
				logger.error({ err: error, documentName }, 'cannot persist update');
			}
		},

		// A client that (re)connects learns at once what is already durable — edits it sent before a
		// restart, or that a peer instance relayed and this one logged — rather than at its next commit.
		async connected({ documentName, connection }: connectedPayload) {
			const state = docs.get(documentName);
			if (!state) return;
			connection.sendStateless(encodeDurableAck(state.clock.encode()));
			// A client reconnecting while its earlier edits are still being committed re-sends nothing
			// (the server has them), so it is owed an ack once everything in flight now is durable.
			const inFlight = new Map<number, number>();
			for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(state.document)))
				if (state.clock.get(client) < clock) inFlight.set(client, clock);
			if (inFlight.size > 0) owe(state, connection, inFlight);
			connection.onClose(() => state.owed.delete(connection));
		},

		async afterUnloadDocument({ documentName }) {
			// The name may already belong to a copy loaded since (Hocuspocus forgets a document before
			// its unload hooks run): only a destroyed copy is the one unloaded.
			const state = docs.get(documentName);
			if (state && !state.document.isDestroyed) return;
			docs.delete(documentName);
			if (state) failWaiters(state, 'not_loaded', documentName);
			const changed = state && (state.appendedSinceCompaction > 0 || state.appending.size > 0);
			if (settings.compactOnUnload && state && changed && !destroyed) {
				// After its appends (so their rows are named) and a compaction still running (which would
				// make this one a no-op). The destroyed Y.Doc still holds its structs (Yjs' destroy only
				// detaches it from providers and parents), so it can still be encoded.
				const settled = Promise.allSettled([...state.appending, state.compacting]);
				track(settled.then(() => compactInBackground(documentName, state)));
			}
		},

		async flush() {
			// Loop: finished appends may start compactions, which are tracked too.
			while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
		},

		whenDurable(documentName, stateVector) {
			const state = docs.get(documentName);
			if (!state) return Promise.reject(new NotDurableError('not_loaded', documentName));
			if (covers(state.clock, stateVector)) return Promise.resolve();
			if (destroyed) return Promise.reject(new NotDurableError('shut_down', documentName));
			return new Promise<void>((resolve, reject) => {
				state.waiters.add({ needs: stateVector, resolve, reject });
				// Its appends may be queued already, waiting out the group-commit window.
				store.commitNow();
			});
		},

		async onDestroy() {
			await this.flush();
			destroyed = true;
			await this.flush();
			for (const [documentName, state] of docs) failWaiters(state, 'shut_down', documentName);
		}
	};
}
