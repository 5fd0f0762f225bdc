import { compareHlc, type Hlc } from './clock.ts';
import type { Role, Writer } from './writer.ts';

/**
 * What every stored write carries: its timestamp and its writer. Field names are one letter
 * because a material list holds thousands of these (see README "Performance").
 */
export interface Stamp {
	/** HLC wall milliseconds. */
	readonly t: number;
	/** HLC counter. */
	readonly c: number;
	/** Writer's user id. */
	readonly u: string;
	/** Writer's device id. */
	readonly d: string;
	/** Writer's role when writing. */
	readonly r: Role;
}

/** The keys of a `Stamp`: an entry with only these is a bare stamp (a touch, SPEC DUR-1). */
export const STAMP_KEYS: readonly string[] = ['t', 'c', 'u', 'd', 'r'] satisfies (keyof Stamp)[];

export function stampOf(writer: Writer, at: Hlc): Stamp {
	return { t: at.t, c: at.c, u: writer.userId, d: writer.deviceId, r: writer.role };
}

/** Total order over stamps: HLC, then writer (user, device) so every replica agrees on ties. */
export function compareStamps(a: Stamp, b: Stamp): number {
	return compareHlc(a, b) || compareText(a.u, b.u) || compareText(a.d, b.d);
}

export function compareText(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

export function isStamp(value: unknown): value is Stamp {
	if (typeof value !== 'object' || value === null) return false;
	const s = value as Record<string, unknown>;
	return (
		Number.isFinite(s.t) &&
		Number.isInteger(s.c) &&
		typeof s.u === 'string' &&
		typeof s.d === 'string' &&
		(s.r === 'OWNER' || s.r === 'WORKER')
	);
}
