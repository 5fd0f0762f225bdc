import { describe, expect, it } from 'vitest';
import { instrumentDocStore } from './collab/instrument.ts';
import type { DocStore } from './docs/store.ts';
import { metrics } from './metrics.ts';
import { countStoreFailures } from './store-failures.ts';

/** A store whose appends fail once `failing` is set; everything else is unused here. */
function fakeStore(state: { failing: boolean }): DocStore {
	const unused = () => Promise.reject(new Error('unused'));
	return {
		appendUpdate: () => (state.failing ? Promise.reject(new Error('db down')) : Promise.resolve(7)),
		load: unused,
		loadHeld: unused,
		compact: unused,
		flush: () => Promise.resolve(),
		commitNow: () => {},
		pendingAppends: 0,
		close: () => Promise.resolve()
	};
}

async function sampleSum(
	metric: { get(): Promise<{ values: Array<{ value: number; labels: object; metricName?: string }> }> },
	match: (v: { labels: object; metricName?: string }) => boolean
): Promise<number> {
	return (await metric.get()).values.filter(match).reduce((sum, v) => sum + v.value, 0);
}

describe('store wrappers (failure counter, latency timer)', () => {
	it('pass each outcome through unchanged, count failures, and time both outcomes', async () => {
		const state = { failing: false };
		const store = instrumentDocStore(countStoreFailures(fakeStore(state)));
		const isAppend = (v: { labels: object }) => (v.labels as { op?: string }).op === 'append';
		const isCount = (v: { metricName?: string }) => v.metricName === 'khs_store_duration_seconds_count';
		const failuresBefore = await sampleSum(metrics.storeFailures, isAppend);
		const timedBefore = await sampleSum(metrics.storeDuration, (v) => isAppend(v) && isCount(v));
		await expect(store.appendUpdate('doc', new Uint8Array())).resolves.toBe(7);
		state.failing = true;
		await expect(store.appendUpdate('doc', new Uint8Array())).rejects.toThrow('db down');
		expect(await sampleSum(metrics.storeFailures, isAppend)).toBe(failuresBefore + 1);
		expect(await sampleSum(metrics.storeDuration, (v) => isAppend(v) && isCount(v))).toBe(timedBefore + 2);
	});
});
