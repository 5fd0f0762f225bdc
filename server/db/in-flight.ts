import { DbError } from './errors.ts';

/**
 * The calls an adapter has in flight, so closing lets them finish instead of cutting them off
 * (pg's `pool.end()` would fail queued ones). Shared by both adapters.
 */
export class InFlight {
	#closed = false;
	readonly #calls = new Set<Promise<unknown>>();

	/** Runs `call` and remembers it until it settles; rejects with `DbError('CLOSED')` once closed. */
	track<T>(call: () => Promise<T>): Promise<T> {
		if (this.#closed) return Promise.reject(new DbError('CLOSED', 'database adapter is closed'));
		const promise = call();
		this.#calls.add(promise);
		const forget = () => this.#calls.delete(promise);
		promise.then(forget, forget);
		return promise;
	}

	/** Refuses new calls, waits for those in flight, then runs `end` — once, however often it is called. */
	async close(end: () => Promise<void>): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		await Promise.allSettled([...this.#calls]);
		await end();
	}
}
