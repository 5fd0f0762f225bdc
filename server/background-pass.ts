/**
 * A pass run every `intervalMs` in the background, one at a time (retention, the embedded
 * database's upkeep). The timer is unref'd, so it never holds the process open; `stop` waits for a
 * running pass to notice `shouldStop` at its next step.
 */
export interface BackgroundPass<Result> {
	/** Runs one pass now (at time `now`, default the clock's), after any pass already running: tests, operators. */
	runNow(now?: number): Promise<Result>;
	/** Stops the timer and waits for a running pass to end. */
	stop(): Promise<void>;
}

export function startBackgroundPass<Result>(options: {
	intervalMs: number;
	/** One pass; it checks `shouldStop` between its steps. */
	run(now: number, shouldStop: () => boolean): Promise<Result>;
	/** Told each timed pass's result; a failed one is told to `onError` and retried at the next interval. */
	onDone(result: Result): void;
	onError(error: unknown): void;
}): BackgroundPass<Result> {
	let stopped = false;
	let current: Promise<unknown> = Promise.resolve();
	let timer: NodeJS.Timeout | undefined;
	const shouldStop = () => stopped;
	const runNow = (now?: number): Promise<Result> => {
		const pass = current.catch(() => undefined).then(() => options.run(now ?? Date.now(), shouldStop));
		current = pass;
		return pass;
	};
	const schedule = () => {
		if (stopped) return;
		timer = setTimeout(() => {
			runNow().then(options.onDone, options.onError).finally(schedule);
		}, options.intervalMs);
		timer.unref();
	};
	schedule();
	return {
		runNow,
		async stop() {
			stopped = true;
			clearTimeout(timer);
			await current.catch(() => undefined);
		}
	};
}
