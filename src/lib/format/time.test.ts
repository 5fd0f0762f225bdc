import { describe, expect, it } from 'vitest';
import { formatRange, fromDateInput, relativeTime, toDateInput } from './time.ts';

describe('time formatting', () => {
	it('words recent times plainly', () => {
		expect(relativeTime(0, 10_000)).toBe('just now');
		expect(relativeTime(0, 5 * 60_000)).toBe('5 min ago');
		expect(relativeTime(0, 3 * 3_600_000)).toBe('3 h ago');
	});

	it('round-trips date inputs in local time', () => {
		const ms = fromDateInput('2025-03-04');
		expect(ms).not.toBeNull();
		expect(toDateInput(ms)).toBe('2025-03-04');
		expect(fromDateInput('')).toBeNull();
	});

	it('says when a job is not scheduled', () => {
		expect(formatRange(null, null)).toBe('Not scheduled');
	});
});
