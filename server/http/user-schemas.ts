import { z } from 'zod';
import { authDefaults } from '../auth/defaults.ts';
import { roles } from '../auth/roles.ts';

/**
 * Wire shapes of the owner's team administration (routes-users.ts), one source for validation,
 * `GET /api/openapi.json` (server/sync/openapi.ts) and the app's types (taken type-only).
 *
 * The schema checks the SHAPE only (four strings, a known role). What makes a value acceptable
 * (email format, name length, password length) is `validateNewUser` in server/auth/users.ts, the
 * same rule the CLI's `npm run user:add` goes through; it answers 400 naming the field.
 */
export const NewUserRequestSchema = z
	.object({
		name: z.string().meta({ description: '1–200 characters (trimmed)' }),
		email: z
			.string()
			.meta({ description: 'Trimmed and lower-cased; unique (409 email_taken when already in use)' }),
		role: z.enum(roles),
		password: z.string().meta({
			description:
				`First password: at least ${authDefaults.minPasswordLength} characters, at most ` +
				`${authDefaults.maxPasswordBytes} bytes. Never logged, never echoed.`
		})
	})
	.strict()
	.meta({ id: 'NewUserRequest' });

/** What anyone signed in may know about a user (`GET /api/users`, login, `POST /api/users`). */
export const PublicUserSchema = z.object({ id: z.string(), name: z.string(), role: z.enum(roles) });

export const NewUserResponseSchema = z.object({ user: PublicUserSchema }).meta({ id: 'NewUserResponse' });

/**
 * One member as the owner's Team page sees them. Email and the disabled flag are the owner's
 * business only (`GET /api/team`); `GET /api/users` stays id, name and role for everyone.
 */
export const TeamMemberSchema = z.object({
	id: z.string(),
	name: z.string(),
	email: z.string(),
	role: z.enum(roles),
	/** SES-3: cannot log in; every token refused. */
	disabled: z.boolean(),
	createdAt: z.number().meta({ description: 'epoch ms' })
});

export const TeamResponseSchema = z.array(TeamMemberSchema).meta({ id: 'Team' });

export type NewUserRequest = z.infer<typeof NewUserRequestSchema>;
export type TeamMember = z.infer<typeof TeamMemberSchema>;
