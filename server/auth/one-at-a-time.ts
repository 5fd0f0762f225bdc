/**
 * Runs jobs one after another: each starts once the one before it settled, whether it resolved or
 * rejected. Password hashes go through one (passwords.ts, LOGIN-4).
 */
export class OneAtATime {
	#tail: Promise<unknown> = Promise.resolve();

	run<T>(job: () => Promise<T>): Promise<T> {
		const run = this.#tail.then(job, job);
		this.#tail = run.catch(() => undefined);
		return run;
	}
}
