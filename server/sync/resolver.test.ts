import { describe, expect, it } from 'vitest';
import { ENTITY_DEFS } from '../../crdt/index.ts';
import { notesToAppend } from './apply.ts';
import { defaultPolicy, strategyFor } from './policy.ts';
import { ConflictResolver, type SyncConflict } from './resolver.ts';

const resolver = new ConflictResolver();
const conflict = (over: Partial<SyncConflict> = {}): SyncConflict => ({
	id: 'c1',
	clientOperation: { timestamp: 2_000, userRole: 'WORKER' },
	clientState: { title: 'client', status: 'done' },
	serverState: { title: 'server', status: 'scheduled', updatedAt: 1_000, lastModifiedByRole: 'WORKER' },
	baseState: { title: 'base', status: 'scheduled' },
	...over
});

describe('ConflictResolver (the spec six strategies)', () => {
	it('SERVER_WINS keeps the server state and tells the user', () => {
		const r = resolver.resolve(conflict(), 'SERVER_WINS');
		expect(r).toMatchObject({
			resolution: 'server_wins',
			clientAction: 'update_local',
			finalState: { title: 'server' }
		});
		expect(r.userNotification?.type).toBe('info');
	});

	it('CLIENT_WINS takes the client fields over the server state, silently', () => {
		const r = resolver.resolve(conflict(), 'CLIENT_WINS');
		expect(r).toMatchObject({
			resolution: 'client_wins',
			finalState: { title: 'client', status: 'done' },
			userNotification: null
		});
	});

	it('LAST_WRITE_WINS compares the client operation time with the server write time', () => {
		expect(resolver.resolve(conflict(), 'LAST_WRITE_WINS').resolution).toBe('client_wins');
		const older = conflict({ clientOperation: { timestamp: 500, userRole: 'WORKER' } });
		expect(resolver.resolve(older, 'LAST_WRITE_WINS').resolution).toBe('server_wins');
		const tie = conflict({ clientOperation: { timestamp: 1_000, userRole: 'WORKER' } });
		expect(resolver.resolve(tie, 'LAST_WRITE_WINS').resolution).toBe('server_wins');
	});

	it('ROLE_BASED: owner beats worker either way; same role falls back to time', () => {
		const ownerServer = conflict({ serverState: { title: 's', updatedAt: 1, lastModifiedByRole: 'OWNER' } });
		expect(resolver.resolve(ownerServer, 'ROLE_BASED').resolution).toBe('server_wins');
		const ownerClient = conflict({
			clientOperation: { timestamp: 0, userRole: 'OWNER' },
			serverState: { title: 's', updatedAt: 9_999, lastModifiedByRole: 'WORKER' }
		});
		expect(resolver.resolve(ownerClient, 'ROLE_BASED').resolution).toBe('client_wins');
		expect(resolver.resolve(conflict(), 'ROLE_BASED').resolution).toBe('client_wins');
	});

	it('FIELD_MERGE takes fields only the client changed and reports the ones both changed', () => {
		const r = resolver.resolve(
			conflict({
				clientState: { title: 'client', status: 'done' },
				serverState: { title: 'server', status: 'scheduled', updatedAt: 1 },
				baseState: { title: 'base', status: 'scheduled' }
			}),
			'FIELD_MERGE'
		);
		expect(r.resolution).toBe('field_merge');
		expect(r.finalState).toMatchObject({ title: 'server', status: 'done' });
		expect(r.clientAction).toBe('update_local');
		expect(r.userNotification).toMatchObject({
			type: 'warning',
			details: [{ field: 'title', yourValue: 'client', currentValue: 'server' }]
		});
		const clean = resolver.resolve(
			conflict({ serverState: { title: 'base', status: 'scheduled' } }),
			'FIELD_MERGE'
		);
		expect(clean).toMatchObject({
			clientAction: 'none',
			userNotification: null,
			finalState: { title: 'client', status: 'done' }
		});
	});

	it('USER_CHOICE leaves it to the user and names the conflict', () => {
		const r = resolver.resolve(conflict(), 'USER_CHOICE');
		expect(r).toMatchObject({
			resolution: 'pending_user',
			clientAction: 'show_conflict_ui',
			userNotification: {
				type: 'action_required',
				action: { handler: 'openConflictResolver', payload: 'c1' }
			}
		});
	});
});

describe('default policy table', () => {
	it('matches the CRDT resolvers field by field', () => {
		const expected = {
			or: 'FIELD_MERGE',
			max: 'FIELD_MERGE',
			role: 'ROLE_BASED',
			lww: 'LAST_WRITE_WINS',
			userChoice: 'USER_CHOICE'
		};
		for (const def of Object.values(ENTITY_DEFS)) {
			for (const [field, spec] of Object.entries(def.fields)) {
				if (field === 'createdAt') expect(strategyFor(defaultPolicy, def.name, field)).toBe('SERVER_WINS');
				else if (field === 'deleted') expect(strategyFor(defaultPolicy, def.name, field)).toBe('FIELD_MERGE');
				else if (spec.kind === 'register')
					expect(strategyFor(defaultPolicy, def.name, field), `${def.name}.${field}`).toBe(
						expected[spec.resolver]
					);
				else if (spec.kind !== 'privateNotes')
					expect(strategyFor(defaultPolicy, def.name, field)).toBe('FIELD_MERGE');
			}
		}
	});
});

describe('notes follow mergeNotes (MAT-6)', () => {
	it('appends the new part of extending text, other text as a new entry, nothing for what is there', () => {
		expect(notesToAppend('a\n---\nb', 'a', 'a')).toBe('b');
		expect(notesToAppend('ab', 'a', undefined)).toBe('b');
		expect(notesToAppend('a', 'a', 'a')).toBeNull();
		expect(notesToAppend('', 'a', undefined)).toBeNull();
		expect(notesToAppend('other', 'a', undefined)).toBe('other');
		// offline: the client extended the base while the server appended something else
		expect(notesToAppend('base\n---\nmine', 'base\n---\ntheirs', 'base')).toBe('mine');
	});
});
