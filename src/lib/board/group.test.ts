import { describe, expect, it } from 'vitest';
import type { BoardJob } from '$lib/api/types.ts';
import { groupByStatus, materialProgress } from './group.ts';

const job = (over: Partial<BoardJob>): BoardJob => ({
	id: 'x',
	title: 'Job',
	status: 'lead',
	customer: null,
	assignedTo: [],
	scheduledStart: null,
	scheduledEnd: null,
	materials: { purchased: 0, total: 0 },
	updatedAt: 0,
	...over
});

describe('board grouping', () => {
	it('keeps every status column in workflow order, jobs by start date', () => {
		const groups = groupByStatus([
			job({ id: 'b', status: 'scheduled', scheduledStart: 20 }),
			job({ id: 'a', status: 'scheduled', scheduledStart: 10 }),
			job({ id: 'c', status: 'scheduled' }),
			job({ id: 'd', status: 'done' })
		]);
		expect(groups.map((g) => g.status)).toEqual([
			'lead',
			'scheduled',
			'in_progress',
			'on_hold',
			'done',
			'cancelled'
		]);
		expect(groups[1]?.jobs.map((j) => j.id)).toEqual(['a', 'b', 'c']);
	});

	it('puts an unknown status under lead instead of dropping the job', () => {
		const groups = groupByStatus([job({ id: 'n', status: 'archived' as never })]);
		expect(groups[0]?.jobs.map((j) => j.id)).toEqual(['n']);
	});

	it('reports material progress, an empty list as 0%', () => {
		expect(materialProgress({ purchased: 1, total: 4 })).toBe(25);
		expect(materialProgress({ purchased: 0, total: 0 })).toBe(0);
	});
});
