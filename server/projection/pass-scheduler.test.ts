import { describe, expect, it } from 'vitest';
import { PassScheduler, type PassTimers } from './pass-scheduler.ts';

/** A hand-driven clock and timer queue: the test moves time; nothing sleeps. */
function fakeTime() {
	let now = 0;
	const timers = new Map<number, { at: number; run: () => void }>();
	let next = 1;
	const api: PassTimers = {
		set(run, ms) {
			const id = next++;
			timers.set(id, { at: now + ms, run });
			return id;
		},
		clear(handle) {
			timers.delete(handle as number);
		}
	};
	return {
		timers: api,
		now: () => now,
		pendingTimers: () => [...timers.values()].map((t) => t.at - now),
		/** Moves the clock and fires every timer due by then, in order. */
		advance(ms: number) {
			now += ms;
			for (const [id, timer] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
				if (timer.at > now) continue;
				timers.delete(id);
				timer.run();
			}
		}
	};
}

/** Lets every queued microtask and promise continuation run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Item {
	name: string;
	since: number;
}

function setup(coalesceMs = 50) {
	const time = fakeTime();
	const passes: string[][] = [];
	/** Each running pass resolves when the test says so. */
	const finishers: Array<() => void> = [];
	const errors: unknown[] = [];
	let failNext = false;
	const scheduler = new PassScheduler<Item>({
		coalesceMs,
		run: (items) => {
			passes.push(items.map((i) => i.name));
			if (failNext) {
				failNext = false;
				return Promise.reject(new Error('boom'));
			}
			return new Promise<void>((resolve) => finishers.push(resolve));
		},
		dirtySince: (item) => item.since,
		onError: (error) => errors.push(error),
		now: time.now,
		timers: time.timers
	});
	const item = (name: string): Item => ({ name, since: time.now() });
	return {
		time,
		passes,
		errors,
		scheduler,
		item,
		finish: () => finishers.shift()?.(),
		failNextPass: () => {
			failNext = true;
		}
	};
}

describe('PassScheduler (the projection coalescing window)', () => {
	it('changes within the window go into one pass, timed from the oldest change', async () => {
		const t = setup(50);
		t.scheduler.add(t.item('a'));
		t.time.advance(30);
		t.scheduler.add(t.item('b'));
		expect(t.time.pendingTimers()).toEqual([20]);
		t.time.advance(19);
		expect(t.passes).toEqual([]);
		t.time.advance(1);
		expect(t.passes).toEqual([['a', 'b']]);
		t.finish();
		await settle();
		expect(t.scheduler.running).toBe(false);
	});

	it('changes during a running pass wait for the next one, which starts after it', async () => {
		const t = setup(50);
		t.scheduler.add(t.item('a'));
		t.time.advance(50);
		expect(t.passes).toEqual([['a']]);
		t.scheduler.add(t.item('b'));
		t.time.advance(100);
		expect(t.passes).toEqual([['a']]); // one pass at a time
		t.finish();
		await settle();
		// The window of b has long passed: the next pass starts at once.
		t.time.advance(0);
		expect(t.passes).toEqual([['a'], ['b']]);
	});

	it('soon() skips the window, and every call of one tick joins the same pass', async () => {
		const t = setup(50);
		t.scheduler.add(t.item('a'));
		const first = t.scheduler.soon(t.item('b'));
		const second = t.scheduler.soon(t.item('c'));
		await settle();
		expect(t.passes).toEqual([['a', 'b', 'c']]);
		expect(t.time.pendingTimers()).toEqual([]);
		let done = false;
		void Promise.all([first, second]).then(() => {
			done = true;
		});
		await settle();
		expect(done).toBe(false);
		t.finish();
		await settle();
		expect(done).toBe(true);
	});

	it('soon() with nothing to do resolves at once; during a pass it waits for the next pass', async () => {
		const t = setup(50);
		await t.scheduler.soon();
		expect(t.passes).toEqual([]);
		t.scheduler.add(t.item('a'));
		t.time.advance(50);
		let done = false;
		void t.scheduler.soon(t.item('b')).then(() => {
			done = true;
		});
		t.finish(); // the pass that was running when soon() was called
		await settle();
		expect(t.passes).toEqual([['a'], ['b']]);
		expect(done).toBe(false);
		t.finish();
		await settle();
		expect(done).toBe(true);
	});

	it('flush() waits until nothing is dirty and no pass runs; a failed pass is reported, not thrown', async () => {
		const t = setup(50);
		t.failNextPass();
		t.scheduler.add(t.item('a'));
		let flushed = false;
		const flushing = t.scheduler.flush().then(() => {
			flushed = true;
		});
		await settle();
		expect(t.passes).toEqual([['a']]);
		expect(t.errors).toHaveLength(1);
		expect(flushed).toBe(true);
		t.scheduler.add(t.item('b'));
		const again = t.scheduler.flush();
		await settle();
		expect(t.scheduler.pending).toBe(0);
		t.finish();
		await Promise.all([flushing, again]);
		expect(t.passes).toEqual([['a'], ['b']]);
	});
});
