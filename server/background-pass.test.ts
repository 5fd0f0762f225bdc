import { afterEach, describe, expect, it, vi } from 'vitest';
import { startBackgroundPass } from './background-pass.ts';

describe('startBackgroundPass', () => {
	afterEach(() => vi.useRealTimers());

	it('runs a pass every interval, one at a time, and stop waits for the running one', async () => {
		vi.useFakeTimers();
		const started: number[] = [];
		const done: string[] = [];
		const errors: unknown[] = [];
		let release!: () => void;
		let stopSeen = false;
		const pass = startBackgroundPass({
			intervalMs: 1_000,
			async run(now, shouldStop) {
				started.push(now);
				await new Promise<void>((resolve) => {
					release = resolve;
				});
				stopSeen = shouldStop();
				if (started.length === 3) throw new Error('third pass fails');
				return `pass ${started.length}`;
			},
			onDone: (result) => done.push(result),
			onError: (error) => errors.push(error)
		});
		expect(started).toHaveLength(0);
		await vi.advanceTimersByTimeAsync(1_000);
		expect(started).toHaveLength(1);
		// Asked for while the timed pass runs: it starts only after that one settled.
		const extra = pass.runNow(42);
		await vi.advanceTimersByTimeAsync(0);
		expect(started).toHaveLength(1);
		release();
		await vi.advanceTimersByTimeAsync(0);
		expect(done).toEqual(['pass 1']);
		expect(started).toEqual([expect.any(Number), 42]);
		release();
		expect(await extra).toBe('pass 2'); // the caller's, not told to onDone
		// A timed pass that fails is told to onError, and the schedule goes on.
		await vi.advanceTimersByTimeAsync(1_000);
		expect(started).toHaveLength(3);
		release();
		await vi.advanceTimersByTimeAsync(0);
		expect(errors).toEqual([new Error('third pass fails')]);
		await vi.advanceTimersByTimeAsync(1_000);
		expect(started).toHaveLength(4);
		const stopped = pass.stop();
		release();
		await stopped;
		expect(stopSeen).toBe(true);
		expect(done).toEqual(['pass 1', 'pass 4']);
		await vi.advanceTimersByTimeAsync(10_000);
		expect(started).toHaveLength(4);
	});
});
