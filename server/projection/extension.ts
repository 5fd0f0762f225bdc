import type { Document, Extension } from '@hocuspocus/server';
import * as Y from 'yjs';
import { parseDocName } from '../../crdt/doc-names.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';
import { silentLogger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import { projectionDefaults } from './defaults.ts';
import { extractEntities } from './extract.ts';
import { type ProjectionResult, writeProjection } from './write.ts';

/** Announced after a projection committed rows (board live updates, tests). */
export interface ProjectedEvent extends ProjectionResult {
	documentName: string;
}

/** The projection extension plus what the sync API and the board need from it. */
export interface ProjectionExtension extends Extension {
	/**
	 * Projects `documentName`'s current state now (after any projection in flight) and resolves with
	 * what was written: the push path's read-your-writes. `document` is used when the document is not
	 * (or no longer) tracked, e.g. a direct connection about to close.
	 */
	projectNow(documentName: string, document?: Y.Doc): Promise<ProjectionResult>;
	/** Resolves when every scheduled projection has committed (or failed and been logged). */
	flush(): Promise<void>;
	/** Subscribes to committed projections; returns the unsubscribe. */
	onProjected(listener: (event: ProjectedEvent) => void): () => void;
}

interface DocState {
	document: Y.Doc;
	timer: ReturnType<typeof setTimeout> | undefined;
	/** performance.now() of the oldest change not yet projected (for the lag metric). */
	dirtySince: number | undefined;
	running: Promise<ProjectionResult> | undefined;
	retryDelayMs: number;
	/** The last committed projection and the state vector it read. */
	last: { stateVector: string; result: ProjectionResult } | undefined;
}

/**
 * Hocuspocus extension projecting documents into `customers`/`jobs`/`materials` (issue 4,
 * DESIGN "Entities"). Changes are coalesced per document for `coalesceMs`, then the JSON and the
 * state vector are read in one synchronous step and written in one transaction; one projection per
 * document runs at a time, and changes arriving meanwhile schedule the next. Documents are projected
 * when loaded too (catching up anything missed while the server was down) and before unloading.
 */
export function createProjectionExtension(options: {
	db: Db;
	logger?: Logger;
	coalesceMs?: number;
}): ProjectionExtension {
	const { db } = options;
	const logger = options.logger ?? silentLogger();
	const coalesceMs = options.coalesceMs ?? projectionDefaults.coalesceMs;
	const docs = new Map<string, DocState>();
	const listeners = new Set<(event: ProjectedEvent) => void>();
	const inFlight = new Set<Promise<unknown>>();

	function stateOf(documentName: string, document: Y.Doc): DocState {
		let state = docs.get(documentName);
		if (!state) {
			state = {
				document,
				timer: undefined,
				dirtySince: undefined,
				running: undefined,
				retryDelayMs: 0,
				last: undefined
			};
			docs.set(documentName, state);
		}
		state.document = document;
		return state;
	}

	function schedule(documentName: string, state: DocState, delayMs = coalesceMs): void {
		state.dirtySince ??= performance.now();
		if (state.timer) return;
		state.timer = setTimeout(() => {
			state.timer = undefined;
			track(run(documentName, state).catch(() => {}));
		}, delayMs);
	}

	function track<T>(promise: Promise<T>): Promise<T> {
		inFlight.add(promise);
		const forget = () => inFlight.delete(promise);
		promise.then(forget, forget);
		return promise;
	}

	/** One projection of the current state, after the one in flight (if any). */
	async function run(documentName: string, state: DocState): Promise<ProjectionResult> {
		while (state.running) await state.running.catch(() => {});
		if (state.timer) {
			clearTimeout(state.timer);
			state.timer = undefined;
		}
		const stateVector = Y.encodeStateVector(state.document);
		const vectorKey = stateVector.join(',');
		// Nothing changed since the last projection (no change event, same state vector): a push's
		// projectNow right after the coalescing timer already projected its transaction.
		if (state.dirtySince === undefined && state.last?.stateVector === vectorKey) return state.last.result;
		const since = state.dirtySince;
		state.dirtySince = undefined;
		// JSON and state vector from the same synchronous read: they describe one document state.
		const entities = extractEntities(documentName, state.document);
		const running = writeProjection(db, entities, stateVector);
		state.running = running;
		try {
			const result = await running;
			state.retryDelayMs = 0;
			state.last = { stateVector: vectorKey, result };
			if (since !== undefined) metrics.projectionLag.observe((performance.now() - since) / 1000);
			if (result.changed.length > 0) {
				const event = { ...result, documentName };
				for (const listener of listeners) {
					try {
						listener(event);
					} catch (err) {
						logger.error({ err }, 'projection listener failed');
					}
				}
			}
			return result;
		} catch (err) {
			// Never dropped: the document stays dirty and is retried with backoff.
			state.retryDelayMs = Math.min(
				Math.max(projectionDefaults.retryDelayMs, state.retryDelayMs * 2),
				projectionDefaults.retryMaxDelayMs
			);
			logger.error({ err, documentName, retryInMs: state.retryDelayMs }, 'projection failed; retrying');
			if (docs.get(documentName) === state) schedule(documentName, state, state.retryDelayMs);
			throw err;
		} finally {
			if (state.running === running) state.running = undefined;
		}
	}

	return {
		extensionName: 'khs-projection',

		async afterLoadDocument({ documentName, document }: { documentName: string; document: Document }) {
			if (!parseDocName(documentName)) return;
			schedule(documentName, stateOf(documentName, document));
		},

		async onChange({ documentName, document }: { documentName: string; document: Document }) {
			if (!parseDocName(documentName)) return;
			schedule(documentName, stateOf(documentName, document));
		},

		async beforeUnloadDocument({ documentName }: { documentName: string }) {
			const state = docs.get(documentName);
			if (!state) return;
			if (state.timer || state.dirtySince !== undefined) {
				await track(run(documentName, state)).catch(() => {});
			} else if (state.running) {
				await state.running.catch(() => {});
			}
		},

		async afterUnloadDocument({ documentName }: { documentName: string }) {
			const state = docs.get(documentName);
			if (state?.timer) clearTimeout(state.timer);
			docs.delete(documentName);
		},

		projectNow(documentName, document) {
			let state = docs.get(documentName);
			if (!state) {
				if (!document) return Promise.resolve({ changed: [], txid: null });
				state = stateOf(documentName, document);
			}
			return track(run(documentName, state));
		},

		async flush() {
			for (const [name, state] of docs) if (state.timer) track(run(name, state).catch(() => {}));
			while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
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
