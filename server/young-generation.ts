import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * How large V8's young generation (its "new space": two semi-spaces, where every object is born) may
 * grow in this process. V8 doubles it, up to 2 × 64 MB on a 64-bit machine with this much memory,
 * whenever many objects survive a scavenge — as they do while sockets open, since a socket's objects
 * live as long as it — and keeps the pages afterwards: a full GC empties the space but does not
 * return it. Measured on the bench:peers idle phase (RSS after two full GCs, 2026-12-02): of the
 * 99 MB that 200 → 2,000 idle connections added, 52 MB were new space (13.8 → 106 MB resident) and
 * only 27 MB the connections' own objects; start-up alone had grown it to 14 MB resident. V8 takes
 * a cap only as a command-line flag, which `npm start` (scripts/start.mjs runs the server in its own
 * process) cannot pass, but reads its growth factor every time it grows the space: start-up runs at
 * factor 1 (no growth, scripts/start.mjs), and once the server listens this policy allows doubling
 * only while the space is below the cap.
 */
export const youngGenerationDefaults = {
	/**
	 * Largest new space (both semi-spaces) growth is allowed to reach. V8 reports GCs to JavaScript
	 * after the fact, so scavenges in a row before the observer runs can overshoot it by a doubling.
	 * Measured 2026-12-02 against the uncapped 128 MB, each run next to bare Hocuspocus (load 2–11):
	 * - bench:peers idle, 2 alternating runs each (with the lighter sockets of the same day): RSS per
	 *   connection 51–55 → 17–21 KB (bare 31–36), at 2,000 connections 269–275 → 187–189 MB (bare
	 *   185–188), after start 114–115 → 101–102 MB (bare 91–97); a 16 MB cap gave 168 MB at 2,000;
	 * - CPU per delivered update at 500 connections, ÷ bare's in the same run, 7 alternating runs
	 *   each: uncapped 2.17–2.86 (median 2.24), 32 MB 2.02–2.59 (2.20), 16 MB 2.32–2.66 (2.46); a
	 *   young generation that never grows (1 MB semi-spaces) 2.26–2.63 in a series where uncapped
	 *   gave 1.81–2.49. At 2,000 connections (2 runs each, load 10) 32 MB was no worse either. So
	 *   32 MB: the smallest cap without a measurable CPU cost; 16 MB costs ~10 %.
	 */
	maxNewSpaceBytes: 32 * 1024 * 1024,
	/** V8's own factor (`--semi-space-growth-factor`), used while below the cap. */
	growthFactor: 2
} as const;

/** The growth factor V8 should use for a new space of `newSpaceBytes`. */
export function growthFactorFor(
	newSpaceBytes: number,
	settings: { maxNewSpaceBytes: number; growthFactor: number } = youngGenerationDefaults
): number {
	// Doubling from at or above half the cap would overshoot it: stop there.
	return newSpaceBytes * settings.growthFactor <= settings.maxNewSpaceBytes ? settings.growthFactor : 1;
}

/** V8's setting, changed only when it differs (it is a flag parse). */
function setGrowthFactor(factor: number): void {
	setFlagsFromString(`--semi-space-growth-factor=${factor}`);
}

function newSpaceBytes(): number {
	for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space') return space.space_size;
	return 0;
}

/**
 * After every GC, allows the young generation to grow while it is below the cap and forbids it
 * once there. Returns a function that stops watching (the factor is left as it is).
 */
export function capYoungGeneration(settings: Partial<typeof youngGenerationDefaults> = {}): () => void {
	const resolved = { ...youngGenerationDefaults, ...settings };
	let factor = growthFactorFor(newSpaceBytes(), resolved);
	setGrowthFactor(factor);
	const observer = new PerformanceObserver(() => {
		const wanted = growthFactorFor(newSpaceBytes(), resolved);
		if (wanted === factor) return;
		factor = wanted;
		setGrowthFactor(factor);
	});
	observer.observe({ entryTypes: ['gc'] });
	return () => observer.disconnect();
}
