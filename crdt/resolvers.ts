import { compareStamps, type Stamp } from './entry.ts';
import { ROLE_RANK } from './writer.ts';

/**
 * Resolvers turn the live entries of a multi-value register (exactly the concurrent writes, see
 * register.ts) into one value. They are pure, order-independent and total, so every replica that
 * holds the same entries shows the same value (SPEC REG-3). This is where the spec's rules live.
 */
export type JsonScalar = string | number | boolean | null;

export interface RegisterEntry<V extends JsonScalar = JsonScalar> extends Stamp {
	/** The written value. */
	readonly v: V;
}

export type ResolverName = 'or' | 'max' | 'role' | 'lww' | 'userChoice';

export type Resolver = (entries: readonly RegisterEntry[]) => JsonScalar;

/** Latest stamp; the spec's LAST_WRITE_WINS over HLC rather than raw device time (SPEC LWW-1). */
export function latest<E extends Stamp>(entries: readonly E[]): E | undefined {
	let best: E | undefined;
	for (const entry of entries) if (!best || compareStamps(entry, best) > 0) best = entry;
	return best;
}

/** Enable-wins flag: any concurrent `true` wins (spec: "true wins (can't un-purchase)"; SPEC MAT-2). */
export const orResolver: Resolver = (entries) => entries.some((e) => e.v === true);

/** Maximum (spec: "use maximum (assume additions)"; SPEC MAT-4). Non-numbers are ignored. */
export const maxResolver: Resolver = (entries) => {
	let best: number | null = null;
	for (const e of entries) if (typeof e.v === 'number' && (best === null || e.v > best)) best = e.v;
	return best;
};

/** Highest role, then latest HLC, then writer id (spec ROLE_BASED; SPEC JOB-1). */
export const roleResolver: Resolver = (entries) => {
	const topRank = Math.max(...entries.map((e) => ROLE_RANK[e.r]));
	return latest(entries.filter((e) => ROLE_RANK[e.r] === topRank))?.v ?? null;
};

export const lwwResolver: Resolver = (entries) => latest(entries)?.v ?? null;

/**
 * USER_CHOICE shows the latest value provisionally; the register is reported as a conflict until a
 * write that has seen every entry replaces them (SPEC UC-1, UC-2).
 */
export const userChoiceResolver: Resolver = lwwResolver;

export const RESOLVERS: Readonly<Record<ResolverName, Resolver>> = {
	or: orResolver,
	max: maxResolver,
	role: roleResolver,
	lww: lwwResolver,
	userChoice: userChoiceResolver
};

/** Distinct values among entries, in stamp order; more than one under USER_CHOICE is a conflict. */
export function distinctValues(entries: readonly RegisterEntry[]): JsonScalar[] {
	const sorted = [...entries].sort(compareStamps);
	const values: JsonScalar[] = [];
	for (const e of sorted) if (!values.includes(e.v)) values.push(e.v);
	return values;
}
