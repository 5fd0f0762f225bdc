import * as Y from 'yjs';

/**
 * The state vector of what is durable for one document: per client, the clock below which every
 * struct is committed. Ranges `[from, to)` are added as their appends commit; a range that does not
 * touch the durable prefix yet (a later update committed before an earlier one) waits in `gaps`,
 * so the vector never claims an update that is still in flight — whatever order Hocuspocus' hook
 * chains or group-commit batches deliver commits in.
 */
export class DurableClock {
	readonly #clocks: Map<number, number>;
	readonly #gaps = new Map<number, [from: number, to: number][]>();

	/** `initial`: the state vector of what was loaded from the store (durable by definition). */
	constructor(initial: Map<number, number> = new Map()) {
		this.#clocks = new Map(initial);
	}

	/** Marks the structs of one update (its `UpdateMeta`) as durable. */
	add(meta: { from: Map<number, number>; to: Map<number, number> }): void {
		for (const [client, to] of meta.to) {
			const from = meta.from.get(client) ?? 0;
			const known = this.#gaps.get(client);
			// The usual case (every update, in order): it extends the durable prefix, nothing waits.
			if (known === undefined) {
				const clock = this.#clocks.get(client) ?? 0;
				if (from <= clock) {
					if (to > clock) this.#clocks.set(client, to);
					continue;
				}
			}
			const gaps = known ?? [];
			gaps.push([from, to]);
			gaps.sort((a, b) => a[0] - b[0]);
			let clock = this.#clocks.get(client) ?? 0;
			while (gaps.length > 0 && (gaps[0]?.[0] ?? Number.POSITIVE_INFINITY) <= clock) {
				clock = Math.max(clock, gaps.shift()?.[1] ?? clock);
			}
			this.#clocks.set(client, clock);
			if (gaps.length > 0) this.#gaps.set(client, gaps);
			else this.#gaps.delete(client);
		}
	}

	/** The durable state vector, encoded like `Y.encodeStateVector`. */
	encode(): Uint8Array {
		return Y.encodeStateVector(this.#clocks);
	}

	/** The durable clock of one client. */
	get(client: number): number {
		return this.#clocks.get(client) ?? 0;
	}
}
