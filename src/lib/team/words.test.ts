import { describe, expect, it } from 'vitest';
import { ApiError } from '$lib/api/client.ts';
import { teamProblem } from './words.ts';

// docs/server-rules.md TEAM-2: the server's refusals in the owner's words, pointing at the field.
describe('team problems in plain words', () => {
	it('says a taken email, a short password and a bad email plainly, naming the field', () => {
		expect(teamProblem(new ApiError(409, 'email_taken', 'a user with email x exists', 'email'))).toEqual({
			text: 'That email is already on the team.',
			field: 'email'
		});
		expect(
			teamProblem(new ApiError(400, 'invalid_field', 'password must be at least 8 characters', 'password'))
		).toEqual({ text: 'The first password must be at least 8 characters.', field: 'password' });
		expect(
			teamProblem(
				new ApiError(400, 'invalid_field', 'password must be at most 72 bytes (bcrypt…)', 'password')
			).text
		).toBe('The first password is too long. Use a shorter one.');
		expect(
			teamProblem(new ApiError(400, 'invalid_field', '"x" is not a valid email address', 'email'))
		).toEqual({
			text: 'That is not an email address. Check for a missing @ or dot.',
			field: 'email'
		});
		expect(
			teamProblem(new ApiError(400, 'invalid_field', 'name must be 1–200 characters', 'name')).text
		).toBe('The name must be 1–200 characters.');
	});

	it('offline, forbidden, self and unknown errors get their own sentence; nothing raw leaks', () => {
		expect(teamProblem(new ApiError(0, 'network', 'No connection to the server')).text).toMatch(
			/No connection/
		);
		expect(teamProblem(new ApiError(403, 'forbidden', 'only the owner can manage users')).text).toBe(
			'Only the owner can manage the team.'
		);
		expect(teamProblem(new ApiError(400, 'cannot_change_self', 'x', 'id')).text).toBe(
			'You cannot turn off your own access.'
		);
		for (const e of [new ApiError(500, 'internal', 'internal server error'), new Error('boom'), undefined]) {
			expect(teamProblem(e).text).toBe('The server could not do that just now. Try again in a moment.');
		}
		expect(teamProblem(new ApiError(400, 'invalid_request', 'password: Invalid input', 'password'))).toEqual({
			text: 'Check this field and try again.',
			field: 'password'
		});
	});
});
