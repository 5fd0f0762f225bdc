import { describe, expect, it } from 'vitest';
import { createLoginGate, LoginBusyError } from './login-gate.ts';

/** A unit of work the test finishes by hand. */
function pendingWork() {
	let finish: () => void = () => {};
	const done = new Promise<void>((resolve) => {
		finish = resolve;
	});
	return { work: () => done, finish: () => finish() };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
	try {
		await p;
	} catch (error) {
		if (error instanceof LoginBusyError) return error.code;
		throw error;
	}
	return undefined;
}

describe('login gate (LOGIN-4)', () => {
	it('runs at most maxConcurrent at once, queues up to maxQueued in order, refuses beyond', async () => {
		const gate = createLoginGate({ maxConcurrent: 2, maxQueued: 2, maxWaitMs: 60_000 });
		const jobs = Array.from({ length: 5 }, () => pendingWork());
		const started: number[] = [];
		const runs = jobs.map((job, i) =>
			gate.run(async () => {
				started.push(i);
				await job.work();
				return i;
			})
		);
		expect(await codeOf(runs[4] as Promise<number>)).toBe('queue_full');
		expect(gate.load).toEqual({ running: 2, queued: 2 });
		expect(started).toEqual([0, 1]);
		jobs[0]?.finish();
		expect(await runs[0]).toBe(0);
		// The freed slot went to the first in line, and nobody else got in meanwhile.
		await Promise.resolve();
		expect(started).toEqual([0, 1, 2]);
		expect(gate.load).toEqual({ running: 2, queued: 1 });
		for (const job of jobs) job.finish();
		expect(await Promise.all(runs.slice(0, 4))).toEqual([0, 1, 2, 3]);
		expect(gate.load).toEqual({ running: 0, queued: 0 });
	});

	it('a login that waits longer than maxWaitMs is refused and leaves the queue', async () => {
		const gate = createLoginGate({ maxConcurrent: 1, maxQueued: 5, maxWaitMs: 20 });
		const blocker = pendingWork();
		const first = gate.run(blocker.work);
		expect(await codeOf(gate.run(async () => 'late'))).toBe('wait_timeout');
		expect(gate.load).toEqual({ running: 1, queued: 0 });
		blocker.finish();
		await first;
		expect(await gate.run(async () => 'next')).toBe('next');
	});
});
