import { describe, expect, it } from 'vitest';
import { compareHlc, HybridClock } from './clock.ts';
import { JobDoc } from './documents.ts';
import { replica, sync } from './test-support.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const JOB_ID = '00000000-0000-4000-8000-000000000001';

describe('hybrid logical clock', () => {
	it('HLC-1 never issues a timestamp at or below one issued or observed', () => {
		let wall = 1_000;
		const clock = new HybridClock(() => wall);
		const first = clock.next();
		wall = 500; // the wall clock jumps back
		const second = clock.next();
		expect(compareHlc(second, first)).toBeGreaterThan(0);
		clock.observe({ t: 9_000, c: 4 });
		const third = clock.next();
		expect(compareHlc(third, { t: 9_000, c: 4 })).toBeGreaterThan(0);
	});

	it('HLC-2 a write made after seeing another is later, even with a clock behind', () => {
		const ahead = replica('ahead', 'WORKER', () => Date.now() + DAY_MS);
		const behind = replica('behind', 'WORKER', () => Date.now() - DAY_MS);
		new JobDoc(ahead.doc, JOB_ID, ahead.ctx).create({ title: 'Roof' });
		sync(ahead, behind);
		const job = new JobDoc(behind.doc, JOB_ID, behind.ctx);
		job.entity.set({ title: 'Roof and gutters' });
		const [entry] = job.entity.field('title').entries;
		expect(entry?.t).toBeGreaterThanOrEqual(Date.now() + DAY_MS - 60_000);
	});

	it('HLC-3 a device a day ahead cannot win over a write made after its own was seen', () => {
		const ahead = replica('ana', 'WORKER', () => Date.now() + DAY_MS);
		const onTime = replica('ben', 'WORKER');
		const other = replica('cy', 'WORKER');
		new JobDoc(ahead.doc, JOB_ID, ahead.ctx).create({ title: 'from the future' });
		sync(ahead, onTime);
		new JobDoc(onTime.doc, JOB_ID, onTime.ctx).entity.set({ title: 'after seeing it', status: 'scheduled' });
		// A third replica hears of both writes in the opposite order.
		sync(onTime, other);
		sync(ahead, other);
		for (const r of [ahead, onTime, other]) {
			sync(r, ahead);
			expect(new JobDoc(r.doc, JOB_ID, r.ctx).read()?.title).toBe('after seeing it');
		}
	});
});
