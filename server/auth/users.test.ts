import { describe, expect, it } from 'vitest';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.ts';
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
	it('hashes with bcrypt and verifies', async () => {
		const hash = await hashPassword('demo1234', 4);
		expect(hash).toMatch(/^\$2[aby]\$04\$/);
		expect(await verifyPassword('demo1234', hash)).toBe(true);
		expect(await verifyPassword('demo12345', hash)).toBe(false);
		expect(await verifyPassword('demo1234', 'not-a-hash')).toBe(false);
		expect(await verifyPassword('x', await dummyPasswordHash())).toBe(false);
	});
});
