import { LoginBusyError, type LoginGate } from '../auth/login-gate.ts';
import type { LoginAttempt, LoginLimiter } from '../auth/login-limiter.ts';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from '../auth/passwords.ts';
import { publicUser } from '../auth/roles.ts';
import { revokeToken } from '../auth/sessions.ts';
import type { TokenSigner } from '../auth/tokens.ts';
import { findUserByEmail, normalizeEmail, replacePasswordHash } from '../auth/users.ts';
import type { RevocationBus } from '../collab/revocation-bus.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import { HttpError } from './errors.ts';
import type { Router } from './router.ts';

// One message for unknown email and wrong password: which emails exist is not the caller's business.
const badCredentials = () => new HttpError(401, 'invalid_credentials', 'Email or password is incorrect');

const retryAfter = (ms: number) => ({ 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) });

function requireString(body: Record<string, unknown>, field: string): string {
	const value = body[field];
	if (typeof value !== 'string' || value === '') {
		throw new HttpError(400, 'invalid_field', `${field} is required and must be a non-empty string`, field);
	}
	return value;
}

export interface AuthRouteDeps {
	db: Db;
	tokens: TokenSigner;
	limiter: LoginLimiter;
	gate: LoginGate;
	revocations: RevocationBus;
}

/**
 * `POST /api/auth/login {email,password}` → `{token, user:{id,name,role}}` (LOGIN-1…LOGIN-4 in
 * docs/server-rules.md: 429 + Retry-After when this email+address must wait or the login queue is
 * full); `POST /api/auth/logout` ends the caller's token (SES-1); `GET /api/auth/me` →
 * `{user:{id,name,role}}` for a valid token (clients check a stored token).
 */
export function mountAuthRoutes(router: Router, deps: AuthRouteDeps): void {
	const { limiter, gate } = deps;
	const throttled = (attempt: LoginAttempt) => {
		const waitMs = limiter.retryAfterMs(attempt);
		if (waitMs <= 0) return;
		metrics.logins.inc({ outcome: 'throttled' });
		throw new HttpError(
			429,
			'too_many_attempts',
			'Too many failed logins; try again later',
			undefined,
			retryAfter(waitMs)
		);
	};

	// A hash of an older scheme is replaced once its password is known to be right (passwords.ts).
	// Failing that, the login still succeeds (the old hash stays valid) and the next one tries again.
	const rehash = async (log: Logger, userId: string, previous: string, password: string) => {
		try {
			await replacePasswordHash(deps.db, userId, previous, await hashPassword(password));
		} catch (error) {
			log.warn({ err: error, userId }, 'password hash not upgraded; the next login retries');
		}
	};

	router.post('/api/auth/login', async (ctx) => {
		const body = await ctx.json();
		if (typeof body !== 'object' || body === null || Array.isArray(body)) {
			throw new HttpError(400, 'invalid_request', 'expected a JSON object {email, password}');
		}
		const email = requireString(body as Record<string, unknown>, 'email');
		const password = requireString(body as Record<string, unknown>, 'password');
		const attempt: LoginAttempt = { email: normalizeEmail(email), address: ctx.address };
		throttled(attempt);

		let checked: { user: Awaited<ReturnType<typeof findUserByEmail>>; ok: boolean };
		try {
			checked = await gate.run(async () => {
				// Again once a slot is ours: parallel guesses that queued together must not all pass.
				throttled(attempt);
				const user = await findUserByEmail(deps.db, email);
				// Compare against a dummy hash for unknown emails so both failures cost the same time.
				const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
				// Inside the slot: the new hash is login work too (LOGIN-4).
				if (user && ok && needsRehash(user.passwordHash))
					await rehash(ctx.log, user.id, user.passwordHash, password);
				return { user, ok };
			});
		} catch (error) {
			if (!(error instanceof LoginBusyError)) throw error;
			metrics.logins.inc({ outcome: 'busy' });
			throw new HttpError(
				429,
				'login_busy',
				'Too many logins at once; try again shortly',
				undefined,
				retryAfter(error.retryAfterMs)
			);
		}
		const { user, ok } = checked;
		if (!user || !ok) {
			limiter.fail(attempt);
			metrics.logins.inc({ outcome: 'rejected' });
			ctx.log.info({ email: attempt.email, address: attempt.address }, 'login rejected');
			throw badCredentials();
		}
		limiter.succeed(attempt);
		if (user.disabled) {
			// Told only to someone who knows the password: they should talk to the owner, not retry.
			metrics.logins.inc({ outcome: 'disabled' });
			throw new HttpError(403, 'user_disabled', 'This user has been disabled; ask the owner');
		}
		metrics.logins.inc({ outcome: 'ok' });
		ctx.log.info({ userId: user.id }, 'login');
		const token = deps.tokens.sign({ sub: user.id, role: user.role, name: user.name });
		return { json: { token, user: publicUser(user) } };
	});

	router.post('/api/auth/logout', async (ctx) => {
		const user = await ctx.authenticate();
		const session = user.session;
		if (!session) throw new HttpError(500, 'internal', 'authenticated without a session');
		await revokeToken(deps.db, {
			tokenId: session.tokenId,
			userId: user.id,
			expiresAtMs: session.expiresAtMs
		});
		await deps.revocations.publish({ kind: 'token-revoked', userId: user.id, tokenId: session.tokenId });
		ctx.log.info({ userId: user.id }, 'logout');
		return { json: { ok: true } };
	});

	router.get('/api/auth/me', async (ctx) => ({ json: { user: publicUser(await ctx.authenticate()) } }));
}
