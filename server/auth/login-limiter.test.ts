import { describe, expect, it } from 'vitest';
import { createLoginLimiter } from './login-limiter.ts';

describe('login limiter', () => {
	it('blocks a key after maxFailures in the window and frees it when the window ends', () => {
		let now = 0;
		const limiter = createLoginLimiter({ maxFailures: 3, windowMs: 1000, now: () => now });
		for (let i = 0; i < 3; i++) {
			expect(limiter.retryAfterMs(['a'])).toBe(0);
			limiter.fail(['a']);
		}
		now = 400;
		expect(limiter.retryAfterMs(['a'])).toBe(600);
		expect(limiter.retryAfterMs(['b'])).toBe(0);
		now = 1000;
		expect(limiter.retryAfterMs(['a'])).toBe(0);
	});

	it('forgets a key on reset and bounds its memory', () => {
		const limiter = createLoginLimiter({ maxFailures: 1, maxKeys: 2 });
		limiter.fail(['a']);
		limiter.reset(['a']);
		expect(limiter.retryAfterMs(['a'])).toBe(0);
		limiter.fail(['x']);
		limiter.fail(['y']);
		limiter.fail(['z']);
		expect(limiter.retryAfterMs(['x'])).toBe(0);
		expect(limiter.retryAfterMs(['z'])).toBeGreaterThan(0);
	});
});
