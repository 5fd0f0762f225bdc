import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { capYoungGeneration, growthFactorFor, youngGenerationDefaults } from './young-generation.ts';

const MB = 1024 * 1024;
const newSpaceBytes = () =>
	getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

describe('growthFactorFor', () => {
	const settings = { maxNewSpaceBytes: 32 * MB, growthFactor: 2 };

	it('lets the young generation double while the result stays within the cap', () => {
		expect(growthFactorFor(2 * MB, settings)).toBe(2);
		expect(growthFactorFor(16 * MB, settings)).toBe(2);
	});

	it('stops growth once doubling would pass the cap, and above it', () => {
		expect(growthFactorFor(17 * MB, settings)).toBe(1);
		expect(growthFactorFor(32 * MB, settings)).toBe(1);
		expect(growthFactorFor(128 * MB, settings)).toBe(1);
	});

	it('defaults to V8’s own factor under a cap of a few tens of MB', () => {
		expect(youngGenerationDefaults.growthFactor).toBe(2);
		expect(growthFactorFor(youngGenerationDefaults.maxNewSpaceBytes)).toBe(1);
		expect(growthFactorFor(youngGenerationDefaults.maxNewSpaceBytes / 2)).toBe(2);
	});
});

describe('capYoungGeneration', () => {
	let stop: (() => void) | undefined;
	afterEach(() => {
		stop?.();
		// V8's default, so the rest of the worker runs as it would have.
		setFlagsFromString('--semi-space-growth-factor=2');
	});

	it('keeps the new space from growing past the cap under an allocation load that would grow it', async () => {
		const before = newSpaceBytes();
		const cap = Math.max(before, 8 * MB);
		stop = capYoungGeneration({ maxNewSpaceBytes: cap });
		// Survivors grow the young generation: keep a sliding window of recently made objects alive,
		// yielding between rounds so GC reports reach the observer.
		let window: object[][] = [];
		for (let round = 0; round < 40; round++) {
			const batch: object[] = [];
			for (let i = 0; i < 50_000; i++) batch.push({ i, list: [i] });
			window = [...window.slice(-2), batch];
			await new Promise((resolve) => setImmediate(resolve));
		}
		expect(window.length).toBe(3);
		// At most one doubling past the cap (GCs are reported after the fact).
		expect(newSpaceBytes()).toBeLessThanOrEqual(2 * cap);
	});
});
