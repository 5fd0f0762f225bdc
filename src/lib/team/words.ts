import type { ApiError } from '$lib/api/index.ts';

/**
 * The Team page's plain words: role names and what the server's refusals mean for the owner
 * (docs/server-rules.md TEAM-1…3). The rules themselves (password length, email format) are the
 * server's; where its message carries a number, the sentence keeps it rather than repeat the rule.
 */
export const roleLabels = { WORKER: 'Crew member', OWNER: 'Owner' } as const;

export type TeamRole = keyof typeof roleLabels;

/** What went wrong, in words for the owner; `field` says which input to point at. */
export interface TeamProblem {
	text: string;
	field?: 'name' | 'email' | 'role' | 'password';
}

const fields = new Set(['name', 'email', 'role', 'password'] as const);
type Field = TeamProblem['field'] & string;
const isField = (f: string | undefined): f is Field => f !== undefined && fields.has(f as Field);

/** The server's "password must be at least 8 characters" → "The first password must be…". */
function fromServer(field: Field, message: string): string {
	const rest = message.replace(/^(name|email|role|password)\b:?\s*/i, '');
	const subject = { name: 'The name', email: 'The email', role: 'The role', password: 'The first password' }[
		field
	];
	return `${subject} ${rest.replace(/\.$/, '')}.`;
}

export function teamProblem(error: unknown): TeamProblem {
	const e = error as Partial<ApiError> | undefined;
	const field = e?.field;
	if (e?.status === 0) {
		return { text: 'No connection. This needs the server: try again when you are online.' };
	}
	if (e?.code === 'email_taken') return { text: 'That email is already on the team.', field: 'email' };
	if (e?.status === 403) return { text: 'Only the owner can manage the team.' };
	if (e?.code === 'cannot_change_self') return { text: 'You cannot turn off your own access.' };
	if (e?.code === 'unknown_user') return { text: 'That person is no longer on the team. Reload the list.' };
	if (e?.status === 400 && isField(field)) {
		if (field === 'email') {
			return { text: 'That is not an email address. Check for a missing @ or dot.', field };
		}
		if (field === 'role') return { text: 'Choose Crew member or Owner.', field };
		if (field === 'password' && /at most/.test(e.message ?? '')) {
			return { text: 'The first password is too long. Use a shorter one.', field };
		}
		if (e.code === 'invalid_field') return { text: fromServer(field, e.message ?? 'is not valid'), field };
		return { text: 'Check this field and try again.', field };
	}
	return { text: 'The server could not do that just now. Try again in a moment.' };
}
