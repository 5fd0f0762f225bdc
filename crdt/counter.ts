import { compareText, isStamp, type Stamp } from './entry.ts';
import { randomId } from './ids.ts';
import { entryKey } from './keys.ts';
import { fieldEntries } from './map-index.ts';
import type { EntityMap } from './register.ts';

/**
 * Per-user counter (hours logged). Every increment is its own entry `<field>|<id>` carrying its
 * amount and writer, and the value is their sum; per-user totals group by writer.
 *
 * Goes further than the spec's CRDTCounter, whose merge keeps max(count) per user: one user
 * logging hours from a phone and a laptop while offline would lose one device's hours there.
 * Here both are kept (SPEC CNT-2). Negative amounts are corrections, never a reset.
 */
interface CounterEntry extends Stamp {
	readonly n: number;
}

export function addToCounter(map: EntityMap, field: string, amount: number, stamp: Stamp): void {
	map.set(entryKey(field, randomId()), { ...stamp, n: amount } satisfies CounterEntry);
}

export function readCounterByUser(map: EntityMap, field: string): Map<string, number> {
	const totals = new Map<string, number>();
	// Sorted, so every replica adds the same floats in the same order and gets the same total.
	const { keys, values } = fieldEntries(map, field);
	const order = keys.map((_, i) => i).sort((a, b) => compareText(keys[a] as string, keys[b] as string));
	for (const i of order) {
		const entry = values[i];
		if (!isStamp(entry) || typeof (entry as Partial<CounterEntry>).n !== 'number') continue;
		const { u, n } = entry as CounterEntry;
		totals.set(u, (totals.get(u) ?? 0) + n);
	}
	return totals;
}

export function readCounter(map: EntityMap, field: string): number {
	let total = 0;
	for (const amount of readCounterByUser(map, field).values()) total += amount;
	// Sums of fractional hours drift in binary floating point; hours are logged to the minute.
	return Math.round(total * 1000) / 1000;
}
