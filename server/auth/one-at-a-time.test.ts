import { describe, expect, it } from 'vitest';
import { OneAtATime } from './one-at-a-time.ts';

/** A job that records when it starts and finishes only when told to. */
function gatedJob(started: string[], name: string, outcome: 'resolve' | 'reject') {
	let release!: () => void;
	const gate = new Promise<void>((resolve) => {
		release = resolve;
	});
	const job = async () => {
		started.push(name);
		await gate;
		if (outcome === 'reject') throw new Error(`${name} failed`);
		return name;
	};
	return { job, release };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('OneAtATime (LOGIN-4: one password hash at a time)', () => {
	it('starts a job only after the one before it settled, a rejected one included', async () => {
		const queue = new OneAtATime();
		const started: string[] = [];
		const a = gatedJob(started, 'a', 'resolve');
		const b = gatedJob(started, 'b', 'reject');
		const c = gatedJob(started, 'c', 'resolve');
		const results = [queue.run(a.job), queue.run(b.job).catch((e: Error) => e.message), queue.run(c.job)];
		await settled();
		expect(started).toEqual(['a']);
		a.release();
		await settled();
		expect(started).toEqual(['a', 'b']);
		b.release();
		await settled();
		expect(started).toEqual(['a', 'b', 'c']);
		c.release();
		expect(await Promise.all(results)).toEqual(['a', 'b failed', 'c']);
	});
});
