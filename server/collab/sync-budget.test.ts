import { describe, expect, it } from 'vitest';
import { SyncRequests } from './sync-budget.ts';

describe('SyncRequests (SOCK-1)', () => {
	const limits = { syncRequestBurst: 3, syncRequestsPerMinute: 6 };

	it('forwards one step 1 per address and drops repeats while its reply is in flight', () => {
		const requests = new SyncRequests(limits, () => 0);
		expect(requests.request('materials:a')).toBe('forward');
		expect(requests.awaiting).toBe(true);
		expect(requests.request('materials:a')).toBe('coalesce');
		expect(requests.request('materials:b')).toBe('forward');
		requests.settle('materials:a');
		expect(requests.isAwaited('materials:a')).toBe(false);
		expect(requests.request('materials:a')).toBe('forward');
	});

	it('closes on the step 1 beyond the per-document allowance, dropped ones included', () => {
		let nowMs = 0;
		const requests = new SyncRequests(limits, () => nowMs);
		expect(requests.request('materials:a')).toBe('forward');
		expect(requests.request('materials:a')).toBe('coalesce');
		expect(requests.request('materials:a')).toBe('coalesce');
		expect(requests.request('materials:a')).toBe('over_budget');
		// Another document has an allowance of its own.
		expect(requests.request('materials:b')).toBe('forward');
		nowMs += 10_000; // 6 per minute: one more after 10 s
		expect(requests.request('materials:a')).toBe('coalesce');
		expect(requests.request('materials:a')).toBe('over_budget');
	});

	it('shares one allowance among the session addresses of a document', () => {
		const requests = new SyncRequests(limits, () => 0);
		expect(requests.request('materials:a\0s1')).toBe('forward');
		expect(requests.request('materials:a\0s2')).toBe('forward');
		expect(requests.request('materials:a\0s3')).toBe('forward');
		expect(requests.request('materials:a\0s4')).toBe('over_budget');
	});
});
