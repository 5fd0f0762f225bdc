import type { DocStore } from '../docs/store.ts';
import { metrics } from '../metrics.ts';

/** The labelled children, looked up once: `startTimer({ op })` hashes the labels on every call. */
const durations = {
	append: metrics.storeDuration.labels({ op: 'append' }),
	load: metrics.storeDuration.labels({ op: 'load' }),
	compact: metrics.storeDuration.labels({ op: 'compact' })
};

/**
 * A histogram timer that ignores the outcome: a failed store operation took that long too. Returns
 * the operation's own promise (no async frame of its own: every append in flight passes through it).
 */
function timed<T>(op: 'append' | 'load' | 'compact', work: () => Promise<T>): Promise<T> {
	const end = durations[op].startTimer();
	const done = work();
	const stop = () => {
		end();
	};
	done.then(stop, stop);
	return done;
}

/**
 * The same store, observing each operation's latency into `khs_store_duration_seconds`. A wrapper
 * rather than code in the store: the store stays free of process-wide state and testable alone.
 */
export function instrumentDocStore(store: DocStore): DocStore {
	return {
		appendUpdate: (docName, update) => timed('append', () => store.appendUpdate(docName, update)),
		load: (docName) => timed('load', () => store.load(docName)),
		loadHeld: (docName) => timed('load', () => store.loadHeld(docName)),
		compact: (docName, held) => timed('compact', () => store.compact(docName, held)),
		flush: () => store.flush(),
		commitNow: () => store.commitNow(),
		get pendingAppends() {
			return store.pendingAppends;
		},
		close: () => store.close()
	};
}
