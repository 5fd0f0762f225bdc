import { describe, expect, it } from 'vitest';
import { createLoginLimiter } from './login-limiter.ts';

// docs/server-rules.md "Login": LOGIN-1 (per email+address), LOGIN-2 (per email), LOGIN-3 (per address).
const settings = {
	pairFreeFailures: 2,
	pairBaseDelayMs: 1_000,
	pairMaxDelayMs: 60_000,
	emailFreeFailures: 4,
	emailBaseDelayMs: 100,
	emailMaxDelayMs: 2_000,
	addressFailureBurst: 100,
	addressFailuresPerMinute: 60
};

describe('login limiter', () => {
	it('LOGIN-1: a guessing pair waits a doubling delay after its free failures, capped', () => {
		let now = 0;
		const limiter = createLoginLimiter({ ...settings, now: () => now });
		const guess = { email: 'ana@x.test', address: '10.0.0.1' };
		const waits: number[] = [];
		for (let i = 0; i < 9; i++) {
			now += limiter.retryAfterMs(guess);
			limiter.fail(guess);
			waits.push(limiter.retryAfterMs(guess));
		}
		// Free, free, then 1 s, 2 s, 4 s … up to the cap; the email's own delay (LOGIN-2) is smaller.
		expect(waits).toEqual([0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
		// Another address for the same email, with no failures of its own, is not held back at all.
		expect(limiter.retryAfterMs({ email: 'ana@x.test', address: '10.0.0.2' })).toBe(0);
		// A success forgets the pair.
		limiter.succeed(guess);
		expect(limiter.retryAfterMs(guess)).toBe(0);
	});

	it('LOGIN-2: failures from many addresses slow every failing address, never more than the cap after its own failure', () => {
		let now = 0;
		const limiter = createLoginLimiter({ ...settings, now: () => now });
		const email = 'ben@x.test';
		for (let i = 0; i < 50; i++) limiter.fail({ email, address: `10.1.0.${i}` });
		// Ben mistypes once from his own address: he waits the email's capped delay, not longer…
		const ben = { email, address: '192.168.1.5' };
		expect(limiter.retryAfterMs(ben)).toBe(0);
		limiter.fail(ben);
		expect(limiter.retryAfterMs(ben)).toBe(2_000);
		// …however much the guessers keep failing meanwhile.
		now += 1_000;
		for (let i = 0; i < 50; i++) limiter.fail({ email, address: `10.2.0.${i}` });
		expect(limiter.retryAfterMs(ben)).toBe(1_000);
		now += 1_000;
		expect(limiter.retryAfterMs(ben)).toBe(0);
	});

	it('LOGIN-3: one address spraying many emails runs out of failures and earns them back', () => {
		let now = 0;
		const limiter = createLoginLimiter({ ...settings, addressFailureBurst: 5, now: () => now });
		const address = '10.9.9.9';
		for (let i = 0; i < 5; i++) {
			expect(limiter.retryAfterMs({ email: `u${i}@x.test`, address })).toBe(0);
			limiter.fail({ email: `u${i}@x.test`, address });
		}
		expect(limiter.retryAfterMs({ email: 'fresh@x.test', address })).toBe(1_000);
		expect(limiter.retryAfterMs({ email: 'fresh@x.test', address: '10.9.9.10' })).toBe(0);
		now += 1_000;
		expect(limiter.retryAfterMs({ email: 'fresh@x.test', address })).toBe(0);
	});

	it('forgets idle entries and bounds its memory', () => {
		let now = 0;
		const limiter = createLoginLimiter({
			...settings,
			pairFreeFailures: 0,
			loginLimiterMaxKeys: 2,
			loginForgetAfterMs: 10_000,
			now: () => now
		});
		const a = { email: 'a@x.test', address: '1' };
		limiter.fail(a);
		expect(limiter.retryAfterMs(a)).toBeGreaterThan(0);
		now = 10_000;
		expect(limiter.retryAfterMs(a)).toBe(0);
		limiter.fail({ email: 'x@x.test', address: '1' });
		limiter.fail({ email: 'y@x.test', address: '1' });
		limiter.fail({ email: 'z@x.test', address: '1' });
		expect(limiter.retryAfterMs({ email: 'x@x.test', address: '1' })).toBe(0);
		expect(limiter.retryAfterMs({ email: 'z@x.test', address: '1' })).toBeGreaterThan(0);
	});
});
