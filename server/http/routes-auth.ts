import { createLoginLimiter, type LoginLimiter } from '../auth/login-limiter.ts';
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
export function mountAuthRoutes(
	router: Router,
	deps: { db: Db; tokens: TokenSigner; loginLimiter?: LoginLimiter }
): void {
	const limiter = deps.loginLimiter ?? createLoginLimiter();
	router.post('/api/auth/login', async (ctx) => {
		const body = await ctx.json();
		if (typeof body !== 'object' || body === null || Array.isArray(body)) {
			throw new HttpError(400, 'invalid_body', 'expected a JSON object {email, password}');
		}
		const email = requireString(body as Record<string, unknown>, 'email');
		const password = requireString(body as Record<string, unknown>, 'password');

		// Keyed by account only: behind a reverse proxy every client shares one address, and a per-address
		// limit would lock everyone out after a few typos.
		const keys = [email.trim().toLowerCase()];
		const waitMs = limiter.retryAfterMs(keys);
		if (waitMs > 0) {
			metrics.logins.inc({ outcome: 'throttled' });
			throw new HttpError(429, 'too_many_attempts', 'Too many failed logins; try again later', undefined, {
				'retry-after': String(Math.ceil(waitMs / 1000))
			});
		}

		const user = await findUserByEmail(deps.db, email);
		// Compare against a dummy hash for unknown emails so both failures cost the same time.
		const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
		if (!user || !ok) {
			limiter.fail(keys);
			metrics.logins.inc({ outcome: 'rejected' });
			ctx.log.info({ email: email.toLowerCase() }, 'login rejected');
			throw badCredentials();
		}
		limiter.reset(keys);
		metrics.logins.inc({ outcome: 'ok' });
		ctx.log.info({ userId: user.id }, 'login');
		const token = deps.tokens.sign({ sub: user.id, role: user.role, name: user.name });
		return { json: { token, user: { id: user.id, name: user.name, role: user.role } } };
	});

	router.get('/api/auth/me', async (ctx) => ({ json: { user: await ctx.authenticate() } }));
}
