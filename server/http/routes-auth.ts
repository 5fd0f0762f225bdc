import { dummyPasswordHash, verifyPassword } from '../auth/passwords.ts';
import type { TokenSigner } from '../auth/tokens.ts';
import { findUserByEmail } from '../auth/users.ts';
import type { Db } from '../db/port.ts';
import { metrics } from '../metrics.ts';
import { HttpError } from './errors.ts';
import type { Router } from './router.ts';

// One message for unknown email and wrong password: which emails exist is not the caller's business.
const badCredentials = () => new HttpError(401, 'invalid_credentials', 'Email or password is incorrect');

function requireString(body: Record<string, unknown>, field: string): string {
	const value = body[field];
	if (typeof value !== 'string' || value === '') {
		throw new HttpError(400, 'invalid_field', `${field} is required and must be a non-empty string`, field);
	}
	return value;
}

/**
 * `POST /api/auth/login {email,password}` → `{token, user:{id,name,role}}`;
 * `GET /api/auth/me` → `{user:{id,name,role}}` for a valid token (clients check a stored token).
 */
export function mountAuthRoutes(router: Router, deps: { db: Db; tokens: TokenSigner }): void {
	router.post('/api/auth/login', async (ctx) => {
		const body = await ctx.json();
		if (typeof body !== 'object' || body === null || Array.isArray(body)) {
			throw new HttpError(400, 'invalid_body', 'expected a JSON object {email, password}');
		}
		const email = requireString(body as Record<string, unknown>, 'email');
		const password = requireString(body as Record<string, unknown>, 'password');

		const user = await findUserByEmail(deps.db, email);
		// Compare against a dummy hash for unknown emails so both failures cost the same time.
		const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
		if (!user || !ok) {
			metrics.logins.inc({ outcome: 'rejected' });
			ctx.log.info({ email: email.toLowerCase() }, 'login rejected');
			throw badCredentials();
		}
		metrics.logins.inc({ outcome: 'ok' });
		ctx.log.info({ userId: user.id }, 'login');
		const token = deps.tokens.sign({ sub: user.id, role: user.role, name: user.name });
		return { json: { token, user: { id: user.id, name: user.name, role: user.role } } };
	});

	router.get('/api/auth/me', async (ctx) => ({ json: { user: await ctx.authenticate() } }));
}
