import type { AuthUser } from '../auth/roles.ts';
import { isRole } from '../auth/roles.ts';
import { revokeSessions, setUserDisabled, setUserRole } from '../auth/sessions.ts';
import type { RevocationBus } from '../collab/revocation-bus.ts';
import type { Db } from '../db/port.ts';
import { HttpError } from './errors.ts';
import type { RouteContext, Router } from './router.ts';

async function requireOwner(ctx: RouteContext): Promise<AuthUser> {
	const user = await ctx.authenticate();
	if (user.role !== 'OWNER') throw new HttpError(403, 'forbidden', 'only the owner can manage users');
	return user;
}

const noSuchUser = (id: string) => new HttpError(404, 'unknown_user', `no user ${id}`, 'id');

function notSelf(owner: AuthUser, id: string, what: string): void {
	// An owner locking themselves out (or demoting the last owner) is a mistake nobody can undo
	// from the app; the CLI can still do it.
	if (owner.id === id)
		throw new HttpError(400, 'cannot_change_self', `an owner cannot ${what} themselves`, 'id');
}

/**
 * Owner-only user administration (docs/server-rules.md SES-2, SES-3, SES-6). Each change is
 * committed first, then published on the revocation bus, so every instance closes or updates the
 * user's open connections and forgets their cached sessions:
 * `POST /api/users/:id/revoke-sessions`, `/disable`, `/enable`, `/role {role}` → `{ok:true}`.
 */
export function mountUserAdminRoutes(router: Router, deps: { db: Db; revocations: RevocationBus }): void {
	const { db, revocations } = deps;

	router.post('/api/users/:id/revoke-sessions', async (ctx) => {
		await requireOwner(ctx);
		const id = ctx.params.id ?? '';
		const atMs = Date.now();
		if (!(await revokeSessions(db, id, atMs))) throw noSuchUser(id);
		await revocations.publish({ kind: 'sessions-revoked', userId: id, validAfterMs: atMs });
		ctx.log.info({ userId: id }, 'sessions revoked');
		return { json: { ok: true } };
	});

	for (const [action, disabled] of [
		['disable', true],
		['enable', false]
	] as const) {
		router.post(`/api/users/:id/${action}`, async (ctx) => {
			const owner = await requireOwner(ctx);
			const id = ctx.params.id ?? '';
			notSelf(owner, id, action);
			if (!(await setUserDisabled(db, id, disabled, Date.now()))) throw noSuchUser(id);
			await revocations.publish({ kind: 'user-changed', userId: id });
			ctx.log.info({ userId: id }, disabled ? 'user disabled' : 'user enabled');
			return { json: { ok: true } };
		});
	}

	router.post('/api/users/:id/role', async (ctx) => {
		const owner = await requireOwner(ctx);
		const id = ctx.params.id ?? '';
		const body = (await ctx.json()) as { role?: unknown } | null;
		const role = typeof body === 'object' && body !== null ? body.role : undefined;
		if (!isRole(role)) throw new HttpError(400, 'invalid_field', 'role must be OWNER or WORKER', 'role');
		notSelf(owner, id, 'change the role of');
		if (!(await setUserRole(db, id, role))) throw noSuchUser(id);
		await revocations.publish({ kind: 'user-changed', userId: id });
		ctx.log.info({ userId: id, role }, 'role changed');
		return { json: { ok: true } };
	});
}
