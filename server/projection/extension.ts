import type { Document, Extension } from '@hocuspocus/server';
import type * as Y from 'yjs';
import { parseDocName } from '../../crdt/doc-names.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';
import { silentLogger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import { projectionDefaults } from './defaults.ts';
import { extractEntities, type ProjectedEntity } from './extract.ts';
import { PassScheduler } from './pass-scheduler.ts';
import {
	type ChangedRow,
	type DocumentRows,
	type ProjectionResult,
	type RemovedAssignment,
	writeProjections
} from './write.ts';

/** Announced after a projection committed rows of a document (board live updates, tests). */
export interface ProjectedEvent extends ProjectionResult {
	documentName: string;
}

/** A document to project now, and its Y.Doc for when it is not (or no longer) tracked. */
export interface ProjectTarget {
	documentName: string;
	document?: Y.Doc | undefined;
}

/** The projection extension plus what the sync API and the board need from it. */
export interface ProjectionExtension extends Extension {
	/**
	 * Projects `documentName`'s current state now (after any pass in flight) and resolves with what
	 * was written and the transaction that last wrote its rows: the push path's read-your-writes.
	 * `document` is used when the document is not (or no longer) tracked, e.g. a direct connection
	 * about to close.
	 */
	projectNow(documentName: string, document?: Y.Doc): Promise<ProjectionResult>;
	/** Several documents in one pass (one transaction): a push touching ten lists waits once. */
	projectAllNow(targets: readonly ProjectTarget[]): Promise<ProjectionResult[]>;
	/** Resolves when every scheduled projection has committed (or failed and been logged). */
	flush(): Promise<void>;
	/** Subscribes to committed projections; returns the unsubscribe. */
	onProjected(listener: (event: ProjectedEvent) => void): () => void;
}

interface DocState {
	name: string;
	document: Y.Doc;
	/** performance.now() of the oldest change no pass has taken yet; undefined → clean. */
	dirtySince: number | undefined;
	/**
	 * materials: ids whose maps changed since a pass last took this document (observeDeep), so a pass
	 * re-reads only those; null → read every entity (first pass after load, job/customer documents).
	 */
	changedIds: Set<string> | null;
	/** JSON.stringify of each entity's JSON as last committed: unchanged entities skip the database. */
	committed: Map<string, string>;
	/** Transaction that last wrote this document's rows (push waits until it is pullable). */
	lastTxid: string | null;
	/** The pass that has taken this document and not finished, if any. */
	inPass: Promise<void> | undefined;
	lastResult: ProjectionResult;
	lastError: unknown;
	retryDelayMs: number;
	retryTimer: ReturnType<typeof setTimeout> | undefined;
	unobserve: () => void;
}

/** What a pass read from one document (synchronously, in one tick). */
interface Taken {
	state: DocState;
	since: number | undefined;
	ids: Set<string> | null;
	rows: DocumentRows;
	fingerprints: Map<string, string>;
}

/**
 * Hocuspocus extension projecting documents into `customers`/`jobs`/`materials` (docs/architecture.md
 * "Projection and change feed", docs/rest-api.md "Entities"). bench:server's profile showed projection at ~25 % of our busy time: every change
 * re-read the whole document (readRegister, toJSON, canonicalJson) and ran its own transaction. So:
 * - Changes mark their document dirty (synchronously, from the Y.Doc's own events) and, for
 *   `materials:` documents, record which materials changed (observeDeep).
 * - Passes, one at a time for all documents: a pass starts `coalesceMs` after the first change it
 *   will take, reads every dirty document's changed entities in one synchronous step (JSON and state
 *   vector describe the same state), drops entities whose JSON fingerprint equals what it last
 *   committed, and writes the rest of ALL documents in one transaction. Changes arriving while a pass
 *   writes wait for the next one, so under load passes grow instead of multiplying.
 * - `projectNow` (push's read-your-writes, unloading) starts a pass at once, without the window.
 * Documents are projected in full when loaded (catching up anything missed while the server was
 * down) and before unloading. A failed write is never dropped: its documents stay dirty and retry
 * with backoff, each in its own transaction so one bad document cannot hold back the others.
 */
export function createProjectionExtension(options: {
	db: Db;
	logger?: Logger;
	coalesceMs?: number;
	/**
	 * Called after a pass COMMITTED crew removals (rows deleted from `job_assignments`): the server
	 * closes those users' open connections to the job's documents (collab/revoke.ts). Must not throw.
	 */
	onAssignmentsRemoved?: (removed: readonly RemovedAssignment[]) => void;
}): ProjectionExtension {
	const { db } = options;
	const logger = options.logger ?? silentLogger();
	const coalesceMs = options.coalesceMs ?? projectionDefaults.coalesceMs;
	const docs = new Map<string, DocState>();
	const listeners = new Set<(event: ProjectedEvent) => void>();
	// One pass at a time for all documents, `coalesceMs` after the first change it takes (pass-scheduler.ts).
	const passes = new PassScheduler<DocState>({
		coalesceMs,
		run: (states) => runPass(states),
		dirtySince: (state) => state.dirtySince,
		onPassStart: (states, pass) => {
			for (const state of states) state.inPass = pass;
		},
		onError: (err) => logger.error({ err }, 'projection pass failed unexpectedly')
	});

	function newState(name: string, document: Y.Doc): DocState {
		return {
			name,
			document,
			dirtySince: undefined,
			changedIds: null,
			committed: new Map(),
			lastTxid: null,
			inPass: undefined,
			lastResult: { changed: [], txid: null },
			lastError: undefined,
			retryDelayMs: 0,
			retryTimer: undefined,
			unobserve: () => {}
		};
	}

	/** Tracks a loaded document: its changes mark it dirty the moment they are applied. */
	function track(name: string, document: Y.Doc): DocState {
		const existing = docs.get(name);
		if (existing?.document === document) return existing;
		existing?.unobserve();
		const state = newState(name, document);
		state.unobserve = observe(state);
		docs.set(name, state);
		return state;
	}

	function observe(state: DocState): () => void {
		const { document } = state;
		const onUpdate = () => markDirty(state);
		document.on('update', onUpdate);
		if (parseDocName(state.name)?.kind !== 'materials') return () => document.off('update', onUpdate);
		const root = document.getMap('materials');
		const onDeep = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>) => {
			const ids = state.changedIds;
			if (ids === null) return; // a full read is pending anyway
			for (const event of events) {
				if (event.target === root)
					for (const key of (event as Y.YMapEvent<unknown>).keysChanged) ids.add(key);
				else if (typeof event.path[0] === 'string') ids.add(event.path[0]);
			}
		};
		root.observeDeep(onDeep);
		return () => {
			document.off('update', onUpdate);
			root.unobserveDeep(onDeep);
		};
	}

	function markDirty(state: DocState): void {
		state.dirtySince ??= performance.now();
		if (state.retryTimer) return; // failed recently: its retry timer re-adds it
		passes.add(state);
	}

	/** Reads every taken document now, in this tick: each entity's JSON and state vector of one state. */
	function take(state: DocState): Taken {
		const since = state.dirtySince;
		const ids = state.changedIds;
		state.dirtySince = undefined;
		state.changedIds = parseDocName(state.name)?.kind === 'materials' ? new Set() : null;
		const fingerprints = new Map<string, string>();
		const entities: ProjectedEntity[] = [];
		for (const entity of extractEntities(state.name, state.document, ids ?? undefined)) {
			// JSON.stringify of views with a fixed field order: a cheap fingerprint before any canonicalJson or SQL.
			const fingerprint = JSON.stringify(entity.data);
			if (state.committed.get(entity.id) === fingerprint) continue;
			fingerprints.set(entity.id, fingerprint);
			entities.push(entity);
		}
		return { state, since, ids, rows: { documentName: state.name, entities }, fingerprints };
	}

	async function runPass(states: DocState[]): Promise<void> {
		const taken: Taken[] = [];
		for (const state of states) {
			try {
				taken.push(take(state));
			} catch (err) {
				failed(state, undefined, null, err);
			}
		}
		const writing = taken.filter((t) => t.rows.entities.length > 0);
		try {
			const result = await writeProjections(
				db,
				writing.map((t) => t.rows)
			);
			for (const t of taken) committed(t, result.txid, result.changed.get(t.state.name) ?? []);
			announceRemoved(result.removed);
		} catch (err) {
			if (writing.length <= 1) {
				for (const t of taken) failed(t.state, t.since, t.ids, err);
				return;
			}
			// One document's rows may be what fails: retry each alone so the others still commit.
			await Promise.all(taken.map((t) => writeAlone(t)));
		}
	}

	async function writeAlone(t: Taken): Promise<void> {
		try {
			const result = await writeProjections(db, t.rows.entities.length > 0 ? [t.rows] : []);
			committed(t, result.txid, result.changed.get(t.state.name) ?? []);
			announceRemoved(result.removed);
		} catch (err) {
			failed(t.state, t.since, t.ids, err);
		}
	}

	function announceRemoved(removed: readonly RemovedAssignment[]): void {
		if (removed.length === 0 || !options.onAssignmentsRemoved) return;
		try {
			options.onAssignmentsRemoved(removed);
		} catch (err) {
			logger.error({ err }, 'assignment removal listener failed');
		}
	}

	function committed(t: Taken, txid: string | null, changed: ChangedRow[]): void {
		const { state } = t;
		for (const [id, fingerprint] of t.fingerprints) state.committed.set(id, fingerprint);
		if (changed.length > 0) state.lastTxid = txid;
		state.lastResult = { changed, txid: state.lastTxid };
		state.lastError = undefined;
		state.retryDelayMs = 0;
		state.inPass = undefined;
		if (t.since !== undefined) metrics.projectionLag.observe((performance.now() - t.since) / 1000);
		if (changed.length === 0) return;
		const event: ProjectedEvent = { documentName: state.name, changed, txid };
		for (const listener of listeners) {
			try {
				listener(event);
			} catch (err) {
				logger.error({ err }, 'projection listener failed');
			}
		}
	}

	/** Never dropped: the document becomes dirty again (with what it had taken) and retries with backoff. */
	function failed(state: DocState, since: number | undefined, ids: Set<string> | null, err: unknown): void {
		state.inPass = undefined;
		state.lastError = err;
		state.dirtySince = Math.min(state.dirtySince ?? Number.POSITIVE_INFINITY, since ?? performance.now());
		if (ids === null) state.changedIds = null;
		else if (state.changedIds !== null) for (const id of ids) state.changedIds.add(id);
		state.retryDelayMs = Math.min(
			Math.max(projectionDefaults.retryDelayMs, state.retryDelayMs * 2),
			projectionDefaults.retryMaxDelayMs
		);
		logger.error(
			{ err, documentName: state.name, retryInMs: state.retryDelayMs },
			'projection failed; retrying'
		);
		if (state.retryTimer) clearTimeout(state.retryTimer);
		state.retryTimer = setTimeout(() => {
			state.retryTimer = undefined;
			// Unloaded meanwhile too: its edits are logged, and the rows must catch up without a reload.
			markDirty(state);
		}, state.retryDelayMs);
	}

	/** Waits until `state` is clean and no pass holds it; rethrows the failure of the pass that took it. */
	async function settle(state: DocState): Promise<ProjectionResult> {
		// Already clean: nothing new was written, but push still waits on the last writer's visibility.
		if (!state.inPass && state.dirtySince === undefined) return { changed: [], txid: state.lastTxid };
		for (;;) {
			if (state.inPass) {
				await state.inPass;
			} else if (state.dirtySince !== undefined) {
				// Skip a pending retry's backoff: a push is waiting for this document.
				if (state.retryTimer) {
					clearTimeout(state.retryTimer);
					state.retryTimer = undefined;
				}
				await passes.soon(state);
			} else return state.lastResult;
			if (state.lastError !== undefined && state.dirtySince !== undefined && !state.inPass)
				throw state.lastError;
		}
	}

	function stateFor(target: ProjectTarget): DocState | undefined {
		const tracked = docs.get(target.documentName);
		if (tracked) return tracked;
		if (!target.document || !parseDocName(target.documentName)) return undefined;
		// Untracked (already unloaded): a one-off full projection, no listeners to leak.
		const state = newState(target.documentName, target.document);
		state.dirtySince = performance.now();
		return state;
	}

	function projectAllNow(targets: readonly ProjectTarget[]): Promise<ProjectionResult[]> {
		return Promise.all(
			targets.map((target) => {
				const state = stateFor(target);
				return state ? settle(state) : Promise.resolve({ changed: [], txid: null });
			})
		);
	}

	return {
		extensionName: 'khs-projection',

		async afterLoadDocument({ documentName, document }: { documentName: string; document: Document }) {
			if (!parseDocName(documentName)) return;
			markDirty(track(documentName, document));
		},

		// Hocuspocus may hand a new Document instance for a name (reload): track that one.
		async onChange({ documentName, document }: { documentName: string; document: Document }) {
			if (!parseDocName(documentName) || docs.get(documentName)?.document === document) return;
			markDirty(track(documentName, document));
		},

		async beforeUnloadDocument({ documentName }: { documentName: string }) {
			const state = docs.get(documentName);
			if (state) await settle(state).catch(() => {});
		},

		async afterUnloadDocument({ documentName }: { documentName: string }) {
			const state = docs.get(documentName);
			if (!state) return;
			state.unobserve();
			docs.delete(documentName);
		},

		projectNow(documentName, document) {
			return projectAllNow([{ documentName, document }]).then(
				([result]) => result ?? { changed: [], txid: null }
			);
		},

		projectAllNow,

		flush() {
			return passes.flush();
		},

		onProjected(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},

		async onDestroy() {
			await this.flush?.();
		}
	} as ProjectionExtension;
}
