/**
 * Hybrid logical clock (HLC). A timestamp is wall-clock milliseconds plus a counter, and a clock
 * never issues a timestamp at or below one it has observed. So a write made after seeing another
 * write is always later than it, however wrong the writer's wall clock is (SPEC HLC-2, HLC-3);
 * only truly concurrent writes are ordered by (possibly skewed) wall time.
 */
export interface Hlc {
	/** Wall-clock milliseconds since the epoch, as the issuing clock believed (or later). */
	readonly t: number;
	/** Tie counter within one millisecond. */
	readonly c: number;
}

export const ZERO_HLC: Hlc = { t: 0, c: 0 };

/** Orders two timestamps; 0 when equal. Writer ids break remaining ties (see `compareStamped`). */
export function compareHlc(a: Hlc, b: Hlc): number {
	return a.t - b.t || a.c - b.c;
}

export class HybridClock {
	private last: Hlc = ZERO_HLC;

	/** `nowMs` is injectable so tests can give a replica a skewed or frozen wall clock. */
	constructor(private readonly nowMs: () => number = Date.now) {}

	/** A fresh timestamp, later than every timestamp issued or observed so far. */
	next(): Hlc {
		const wall = this.nowMs();
		this.last = wall > this.last.t ? { t: wall, c: 0 } : { t: this.last.t, c: this.last.c + 1 };
		return this.last;
	}

	/** Records a timestamp seen in the document, so the next one issued is later than it. */
	observe(seen: Hlc): void {
		if (compareHlc(seen, this.last) > 0) this.last = { t: seen.t, c: seen.c };
	}
}
