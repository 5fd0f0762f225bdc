import type { AuthUser } from '../auth/roles.ts';
import { isRole, publicUser } from '../auth/roles.ts';
import { revokeSessions, setUserDisabled, setUserRole } from '../auth/sessions.ts';
import { createUser, listUsers, UserError } from '../auth/users.ts';
import type { RevocationBus } from '../collab/revocation-bus.ts';
import type { Db } from '../db/port.ts';
import { HttpError } from './errors.ts';
import type { RouteContext, Router } from './router.ts';
import { NewUserRequestSchema, type TeamMember } from './user-schemas.ts';

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

/** A `UserError` from `validateNewUser`/`createUser` as the answer: 409 for a taken email, else 400. */
function userErrorResponse(error: UserError): HttpError {
	if (error.code === 'email_taken') return new HttpError(409, 'email_taken', error.message, error.field);
	return new HttpError(400, 'invalid_field', error.message, error.field);
}

/**
 * Owner-only user administration (docs/server-rules.md SES-2, SES-3, SES-6, TEAM-1…3). Each change
 * to an existing user is committed first, then published on the revocation bus, so every instance
 * closes or updates the user's open connections and forgets their cached sessions:
 * `POST /api/users/:id/revoke-sessions`, `/disable`, `/enable`, `/role {role}` → `{ok:true}`.
 * `POST /api/users {name,email,role,password}` → 201 `{user:{id,name,role}}` adds a member;
 * `GET /api/team` → every member with email and disabled flag.
 */
export function mountUserAdminRoutes(router: Router, deps: { db: Db; revocations: RevocationBus }): void {
	const { db, revocations } = deps;

	router.post('/api/users', async (ctx) => {
		const owner = await requireOwner(ctx);
		const parsed = NewUserRequestSchema.safeParse(await ctx.json());
		if (!parsed.success) {
			// The issue's path and message only: zod's messages never carry the input value, so a
			// password cannot leak into the answer or a log line (TEAM-2).
			const issue = parsed.error.issues[0];
			const field = issue?.path.map(String).join('.') || undefined;
			throw new HttpError(
				400,
				'invalid_request',
				`${field ?? 'body'}: ${issue?.message ?? 'invalid'}`,
				field
			);
		}
		let created: Awaited<ReturnType<typeof createUser>>;
		try {
			created = await createUser(db, parsed.data);
		} catch (error) {
			if (error instanceof UserError) throw userErrorResponse(error);
			throw error;
		}
		ctx.log.info({ userId: created.id, role: created.role, by: owner.id }, 'user created');
		return { status: 201, json: { user: publicUser(created) } };
	});

	router.get('/api/team', async (ctx) => {
		await requireOwner(ctx);
		const team: TeamMember[] = (await listUsers(db)).map((u) => ({
			id: u.id,
			name: u.name,
			email: u.email,
			role: u.role,
			disabled: u.disabled,
			createdAt: u.createdAt.getTime()
		}));
		return { json: team };
	});

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
