import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthError, bearerToken, createTokenSigner } from './tokens.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hmac';
const claims = { sub: '7f1c9d56-3f7e-4a57-9a3e-0c8a3b1d2e4f', role: 'WORKER' as const, name: 'Ana' };

function codeOf(fn: () => unknown): string | undefined {
	try {
		fn();
	} catch (error) {
		if (error instanceof AuthError) return error.code;
		throw error;
	}
	return undefined;
}

describe('tokens', () => {
	it('verifies a fresh token and returns its claims with a 12 h default expiry', () => {
		const now = 1_700_000_000_000;
		const signer = createTokenSigner({ secret, now: () => now });
		const verified = signer.verify(signer.sign(claims));
		expect(verified).toEqual({
			...claims,
			exp: now + 12 * 60 * 60 * 1000,
			iat: now,
			jti: expect.stringMatching(/^[0-9a-f-]{36}$/)
		});
		// Every token has its own id, so one can be revoked without the others (SES-1).
		expect(signer.verify(signer.sign(claims)).jti).not.toBe(verified.jti);
	});

	it('rejects an expired token', () => {
		let now = 1_000_000;
		const signer = createTokenSigner({ secret, ttlMs: 1000, now: () => now });
		const token = signer.sign(claims);
		now += 999;
		expect(signer.verify(token).sub).toBe(claims.sub);
		now += 1;
		expect(codeOf(() => signer.verify(token))).toBe('expired');
	});

	it('rejects a tampered payload and a tampered signature', () => {
		const signer = createTokenSigner({ secret });
		const [v, body, sig] = signer.sign(claims).split('.');
		const owner = Buffer.from(
			JSON.stringify({ ...JSON.parse(Buffer.from(body ?? '', 'base64url').toString()), role: 'OWNER' })
		).toString('base64url');
		expect(codeOf(() => signer.verify(`${v}.${owner}.${sig}`))).toBe('bad_signature');
		const flipped = `${sig?.startsWith('A') ? 'B' : 'A'}${sig?.slice(1)}`;
		expect(codeOf(() => signer.verify(`${v}.${body}.${flipped}`))).toBe('bad_signature');
		expect(codeOf(() => signer.verify(`${v}.${body}.`))).toBe('bad_signature');
	});

	it('rejects a token signed with another secret', () => {
		const token = createTokenSigner({ secret: `${secret}-other` }).sign(claims);
		expect(codeOf(() => createTokenSigner({ secret }).verify(token))).toBe('bad_signature');
	});

	it('tells missing from malformed', () => {
		const signer = createTokenSigner({ secret });
		expect(codeOf(() => signer.verify(undefined))).toBe('missing');
		expect(codeOf(() => signer.verify(''))).toBe('missing');
		expect(codeOf(() => signer.verify('garbage'))).toBe('malformed');
		expect(codeOf(() => signer.verify('v2.a.b'))).toBe('malformed');
	});

	it('rejects well-signed bodies that are not claims', () => {
		// Sign a body that is valid base64url JSON but not claims, with the right key.
		const signer = createTokenSigner({ secret, ttlMs: 1000 });
		const good = signer.sign(claims);
		const [v] = good.split('.');
		const forge = (value: unknown) => {
			const body = Buffer.from(JSON.stringify(value)).toString('base64url');
			return `${v}.${body}.${createHmac('sha256', secret).update(`${v}.${body}`).digest('base64url')}`;
		};
		expect(codeOf(() => signer.verify(forge({ sub: 1 })))).toBe('malformed');
		// A token from before sessions: no id and no issue time, so it could never be revoked.
		expect(codeOf(() => signer.verify(forge({ ...claims, exp: Date.now() + 60_000 })))).toBe('malformed');
	});

	it('parses bearer headers', () => {
		expect(bearerToken(undefined)).toBeUndefined();
		expect(bearerToken('Bearer abc.def')).toBe('abc.def');
		expect(bearerToken('bearer abc')).toBe('abc');
		expect(() => bearerToken('Basic xyz')).toThrow(AuthError);
	});
});
