import { describe, expect, it } from 'vitest';
import { randomId } from './ids.ts';

describe('randomId', () => {
	it('draws ids of the asked length from the alphabet, none repeated across pool refills', () => {
		// 4,000 ids of 10 bytes use the 4,096-byte pool ten times over, mid-id refills included.
		const ids = Array.from({ length: 4_000 }, () => randomId());
		for (const id of ids) expect(id).toMatch(/^[0-9a-zA-Z]{10}$/);
		expect(new Set(ids).size).toBe(ids.length);
		expect(randomId(3)).toMatch(/^[0-9a-zA-Z]{3}$/);
		expect(randomId(5_000)).toHaveLength(5_000);
	});

	it('uses every symbol: the bytes are not stuck (a pool never refilled would repeat itself)', () => {
		const seen = new Set(Array.from({ length: 2_000 }, () => randomId()).join(''));
		expect(seen.size).toBe(62);
	});
});
