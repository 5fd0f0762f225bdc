import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { UserError, validateNewUser } from './users.ts';

function fieldOf(fn: () => unknown): string | undefined {
	try {
		fn();
	} catch (error) {
		if (error instanceof UserError) return `${error.field}:${error.code}`;
		throw error;
	}
	return undefined;
}

describe('user input', () => {
	const good = { email: ' Ana@KHS.demo ', name: ' Ana ', role: 'WORKER', password: 'demo1234' };

	it('normalizes email and name', () => {
		expect(validateNewUser(good)).toMatchObject({ email: 'ana@khs.demo', name: 'Ana', role: 'WORKER' });
	});

	it('names the bad field', () => {
		expect(fieldOf(() => validateNewUser({ ...good, email: 'ana.khs.demo' }))).toBe('email:invalid_email');
		expect(fieldOf(() => validateNewUser({ ...good, name: '  ' }))).toBe('name:invalid_name');
		expect(fieldOf(() => validateNewUser({ ...good, role: 'ADMIN' }))).toBe('role:invalid_role');
		expect(fieldOf(() => validateNewUser({ ...good, password: 'short12' }))).toBe(
			'password:invalid_password'
		);
		expect(fieldOf(() => validateNewUser({ ...good, password: 'x'.repeat(73) }))).toBe(
			'password:invalid_password'
		);
	});
});

describe('passwords', () => {
	it('hashes with PBKDF2-SHA256 and verifies; a wrong password, a malformed or tampered hash is false', async () => {
		const hash = await hashPassword('demo1234', 1_000);
		expect(hash).toMatch(/^\$pbkdf2-sha256\$i=1000\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
		expect(await hashPassword('demo1234', 1_000)).not.toBe(hash); // a fresh salt each time
		expect(await verifyPassword('demo1234', hash)).toBe(true);
		expect(await verifyPassword('demo12345', hash)).toBe(false);
		expect(await verifyPassword('demo1234', hash.replace('i=1000', 'i=1001'))).toBe(false);
		expect(await verifyPassword('demo1234', `${hash}$`)).toBe(false);
		expect(await verifyPassword('demo1234', hash.slice(0, -8))).toBe(false);
		for (const bad of ['not-a-hash', '', '$pbkdf2-sha256$i=0$AAAA$AAAA', '$pbkdf2-sha256$i=x$$'])
			expect(await verifyPassword('demo1234', bad)).toBe(false);
		expect(await verifyPassword('x', await dummyPasswordHash())).toBe(false);
		expect(needsRehash(hash)).toBe(false);
	});

	it('the same password typed in another Unicode normalization verifies', async () => {
		const hash = await hashPassword('Gr\u00fcn-dach-7', 1_000);
		expect(await verifyPassword('Gru\u0308n-dach-7', hash)).toBe(true);
	});

	it('a bcrypt hash written before still verifies, and is one to replace', async () => {
		const hash = bcrypt.hashSync('demo1234', 4);
		expect(await verifyPassword('demo1234', hash)).toBe(true);
		expect(await verifyPassword('demo12345', hash)).toBe(false);
		expect(needsRehash(hash)).toBe(true);
	});
});
