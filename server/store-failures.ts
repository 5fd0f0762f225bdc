import type { DocStore, HeldState } from './docs/store.ts';
import { metrics } from './metrics.ts';

/**
 * The same store, counting failed operations into `khs_store_failures_total{op}` — the "failed
 * appends" alert of ops/prometheus/alerts.yml. A wrapper like collab/instrument.ts's timer.
 */
export function countStoreFailures(store: DocStore): DocStore {
	const counted =
		<A extends unknown[], T>(op: 'append' | 'load' | 'compact', work: (...args: A) => Promise<T>) =>
		(...args: A): Promise<T> =>
			work(...args).catch((error: unknown) => {
				metrics.storeFailures.inc({ op });
				throw error;
			});
	return {
		appendUpdate: counted('append', (docName: string, update: Uint8Array) =>
			store.appendUpdate(docName, update)
		),
		load: counted('load', (docName: string) => store.load(docName)),
		loadHeld: counted('load', (docName: string) => store.loadHeld(docName)),
		compact: counted('compact', (docName: string, held?: HeldState) => store.compact(docName, held)),
		flush: () => store.flush(),
		commitNow: () => store.commitNow(),
		get pendingAppends() {
			return store.pendingAppends;
		},
		close: () => store.close()
	};
}
