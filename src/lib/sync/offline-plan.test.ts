import { describe, expect, it } from 'vitest';
import type { BoardJob } from '$lib/api/types.ts';
import { planOffline } from './offline-plan.ts';

const job = (id: string, status: BoardJob['status'], start: number | null, customer?: string): BoardJob => ({
	id,
	title: id,
	status,
	customer: customer ? { id: customer, name: customer } : null,
	assignedTo: [],
	scheduledStart: start,
	scheduledEnd: null,
	materials: { purchased: 0, total: 0 },
	updatedAt: 0
});

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const CUST = '00000000-0000-4000-8000-0000000000cc';
const USER = '00000000-0000-4000-8000-0000000000ee';

describe('offline plan', () => {
	it('keeps every job a worker crews, with its list and customer, soonest first', () => {
		const plan = planOffline([job(A, 'done', 20, CUST), job(B, 'scheduled', 10, CUST)], false, USER);
		expect(plan.jobs).toEqual([B, A]);
		expect(plan.names).toEqual([
			`job:${B}`,
			`materials:${B}`,
			`private-notes:${B}:${USER}`,
			`customer:${CUST}`,
			`job:${A}`,
			`materials:${A}`,
			`private-notes:${A}:${USER}`
		]);
	});

	it('keeps only open jobs for the owner', () => {
		const plan = planOffline([job(A, 'done', 1), job(B, 'cancelled', 2), job(C, 'lead', null)], true, USER);
		expect(plan.jobs).toEqual([C]);
		expect(plan.names).toEqual([
			`job:${C}`,
			`materials:${C}`,
			`job-owner:${C}`,
			`private-notes:${C}:${USER}`
		]);
	});
});
