/**
 * The projection's coalescing scheduler (docs/architecture.md "Projection and change feed"): items
 * (documents) become dirty; one pass at a time takes every dirty item. A pass starts `coalesceMs`
 * after the oldest dirty item's change, or at once when someone waits for it (`soon`); items dirtied
 * while a pass runs wait for the next one, so under load passes grow instead of multiplying.
 *
 * It knows nothing of documents or SQL: `run` does the pass. Time and timers are injected, so its
 * unit test drives them by hand.
 */
export interface PassSchedulerOptions<T> {
	/** Window from an item's first change to the pass that takes it. */
	coalesceMs: number;
	/** Runs one pass over the taken items. A rejection is reported to `onError`, never rethrown. */
	run(items: T[]): Promise<void>;
	/** When the item became dirty, on the `now` clock (undefined → now). */
	dirtySince(item: T): number | undefined;
	/** Told about each pass as it starts (the pass promise settles after `run` and the next scheduling). */
	onPassStart?(items: readonly T[], pass: Promise<void>): void;
	onError(error: unknown): void;
	/** Monotonic ms clock; default `performance.now`. */
	now?: () => number;
	/** Default `setTimeout` / `clearTimeout`. */
	timers?: PassTimers;
}

export interface PassTimers {
	set(run: () => void, ms: number): unknown;
	clear(handle: unknown): void;
}

const realTimers: PassTimers = {
	set: (run, ms) => setTimeout(run, ms),
	clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>)
};

interface Deferred {
	promise: Promise<void>;
	resolve(): void;
}

function deferred(): Deferred {
	let resolve!: () => void;
	const promise = new Promise<void>((r) => {
		resolve = r;
	});
	return { promise, resolve };
}

export class PassScheduler<T> {
	readonly #options: PassSchedulerOptions<T>;
	readonly #now: () => number;
	readonly #timers: PassTimers;
	/** Items the next pass takes. */
	readonly #dirty = new Set<T>();
	#timer: unknown;
	#running: Promise<void> | undefined;
	/** Set by `soon`: start the next pass without waiting for the window. */
	#urgent: Deferred | undefined;

	constructor(options: PassSchedulerOptions<T>) {
		this.#options = options;
		this.#now = options.now ?? (() => performance.now());
		this.#timers = options.timers ?? realTimers;
	}

	/** Items waiting for the next pass. */
	get pending(): number {
		return this.#dirty.size;
	}

	/** A pass is running. */
	get running(): boolean {
		return this.#running !== undefined;
	}

	/** `item` goes into the next pass, which starts within the window. */
	add(item: T): void {
		this.#dirty.add(item);
		this.#schedule();
	}

	/**
	 * Resolves after a pass that started after this call has finished (at once when nothing is
	 * dirty and no pass runs). Every call of one tick joins the same pass: one push's documents
	 * are projected together.
	 */
	soon(item?: T): Promise<void> {
		if (item !== undefined) this.#dirty.add(item);
		this.#urgent ??= deferred();
		const { promise } = this.#urgent;
		queueMicrotask(() => {
			if (!this.#running && this.#timer !== undefined) {
				this.#timers.clear(this.#timer);
				this.#timer = undefined;
			}
			if (this.#dirty.size === 0 && !this.#running && this.#urgent) {
				this.#urgent.resolve();
				this.#urgent = undefined;
			} else this.#schedule();
		});
		return promise;
	}

	/** Resolves once nothing is dirty and no pass runs. */
	async flush(): Promise<void> {
		while (this.#dirty.size > 0 || this.#running) await (this.#running ?? this.soon());
	}

	#schedule(): void {
		if (this.#running || this.#timer !== undefined || this.#dirty.size === 0) return;
		if (this.#urgent) {
			this.#startPass();
			return;
		}
		const now = this.#now();
		let oldest = Number.POSITIVE_INFINITY;
		for (const item of this.#dirty) oldest = Math.min(oldest, this.#options.dirtySince(item) ?? now);
		const waitMs = Math.max(0, this.#options.coalesceMs - (now - oldest));
		this.#timer = this.#timers.set(() => {
			this.#timer = undefined;
			this.#startPass();
		}, waitMs);
	}

	#startPass(): void {
		const waiting = this.#urgent;
		this.#urgent = undefined;
		const items = [...this.#dirty];
		this.#dirty.clear();
		const pass = this.#options
			.run(items)
			.catch((error: unknown) => this.#options.onError(error))
			.finally(() => {
				this.#running = undefined;
				waiting?.resolve();
				this.#schedule();
			});
		this.#running = pass;
		this.#options.onPassStart?.(items, pass);
	}
}
