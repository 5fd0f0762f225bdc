import { describe, expect, it } from 'vitest';
import type { DocKind } from '../../crdt/index.ts';
import type { AuthUser } from '../auth/roles.ts';
import { refuseEntityChange } from './write-rules.ts';

const owner: AuthUser = { id: 'o', name: 'Olga', role: 'OWNER' };
const ana: AuthUser = { id: 'a', name: 'Ana', role: 'WORKER' };
const stampOf = (user: AuthUser) => ({ t: 1, c: 0, u: user.id, d: 'dev', r: user.role });
const noNotes = () => undefined;
const notesBy = (author: string) => () => author;

function verdict(
	user: AuthUser,
	kind: DocKind,
	key: string,
	action: 'add' | 'update' | 'delete',
	value?: object
) {
	return refuseEntityChange(user, kind, { key, action, newValue: value }, noNotes)?.message;
}

describe('field-level write rules', () => {
	it.each([
		['customerId|x', 'the customer'],
		['assignedTo|a|x', 'the crew'],
		['deleted|x', 'whether it is deleted']
	])('AUD-3 a worker may not write job %s', (key, label) => {
		const value = key.startsWith('deleted') ? true : null;
		expect(verdict(ana, 'job', key, 'add', { ...stampOf(ana), v: value })).toContain(label);
		expect(verdict(owner, 'job', key, 'add', { ...stampOf(owner), v: value })).toBeUndefined();
	});

	it('AUD-2 price and private notes are no field of the shared job document; price is one of job-owner', () => {
		for (const user of [owner, ana]) {
			expect(verdict(user, 'job', 'price|x', 'add', { ...stampOf(user), v: 5 })).toMatch(/no field "price"/);
			expect(
				verdict(user, 'job', `privateNotes|${user.id}|+|n`, 'add', { ...stampOf(user), x: 'x' })
			).toMatch(/no field "privateNotes"/);
		}
		expect(verdict(owner, 'job-owner', 'price|x', 'add', { ...stampOf(owner), v: 5 })).toBeUndefined();
		expect(verdict(owner, 'job-owner', 'title|x', 'add', { ...stampOf(owner), v: 'x' })).toMatch(/no field/);
		expect(verdict(ana, 'job-owner', 'price|x', 'add', { ...stampOf(ana), v: 5 })).toMatch(/only the owner/);
	});

	it('a worker may change status, append notes, log hours and edit materials', () => {
		expect(verdict(ana, 'job', 'status|x', 'add', { ...stampOf(ana), v: 'done' })).toBeUndefined();
		expect(verdict(ana, 'job', 'notes|+|n1', 'add', { ...stampOf(ana), x: 'hi' })).toBeUndefined();
		expect(verdict(ana, 'job', 'hoursLogged|h1', 'add', { ...stampOf(ana), n: 2 })).toBeUndefined();
		expect(verdict(ana, 'materials', 'quantity|q', 'add', { ...stampOf(ana), v: 3 })).toBeUndefined();
		expect(verdict(ana, 'materials', 'quantity|q', 'delete')).toBeUndefined();
	});

	it('entries must carry the writer identity and role and a valid value', () => {
		expect(verdict(ana, 'job', 'status|x', 'add', { ...stampOf(ana), r: 'OWNER', v: 'done' })).toMatch(
			/own user and role/
		);
		expect(verdict(ana, 'job', 'status|x', 'add', { ...stampOf(owner), v: 'done' })).toMatch(
			/own user and role/
		);
		expect(verdict(ana, 'materials', 'quantity|q', 'add', { ...stampOf(ana), v: -4 })).toMatch(/at least 0/);
		expect(verdict(ana, 'materials', 'colour|q', 'add', { ...stampOf(ana), v: 'red' })).toMatch(
			/no field "colour"/
		);
		expect(verdict(ana, 'materials', 'name|q', 'add', { v: 'x' })).toMatch(/Malformed/);
	});

	it('DUR-2 anyone who may write the document may touch it, with their own user and role only', () => {
		for (const kind of ['job', 'materials'] as const) {
			expect(verdict(ana, kind, 'touched|t1', 'add', stampOf(ana))).toBeUndefined();
			expect(verdict(ana, kind, 'touched|t0', 'delete')).toBeUndefined();
		}
		expect(verdict(owner, 'customer', 'touched|t1', 'add', stampOf(owner))).toBeUndefined();
		expect(verdict(ana, 'job', 'touched|t1', 'add', stampOf(owner))).toMatch(/own user and role/);
		expect(verdict(ana, 'job', 'touched|t1', 'add', { ...stampOf(ana), r: 'OWNER' })).toMatch(
			/own user and role/
		);
		// A touch is a bare stamp: nothing unvalidated rides along.
		expect(verdict(ana, 'job', 'touched|t1', 'add', { ...stampOf(ana), v: 'x' })).toMatch(/Malformed/);
		expect(verdict(ana, 'job', 'touched|t1', 'add', { v: 'x' })).toMatch(/Malformed/);
		// Workers only read customer documents; the touch opens no way in.
		expect(verdict(ana, 'customer', 'touched|t1', 'add', stampOf(ana))).toMatch(/Only the owner/);
	});

	it('notes are append-only, hidden only by author or owner; hours never erased; customers owner-only', () => {
		expect(verdict(ana, 'job', 'notes|+|n1', 'delete')).toMatch(/never erased/);
		expect(
			refuseEntityChange(
				ana,
				'job',
				{ key: 'notes|-|n1', action: 'add', newValue: stampOf(ana) },
				notesBy('o')
			)?.message
		).toMatch(/author or the owner/);
		expect(
			refuseEntityChange(
				ana,
				'job',
				{ key: 'notes|-|n1', action: 'add', newValue: stampOf(ana) },
				notesBy('a')
			)
		).toBeUndefined();
		expect(
			refuseEntityChange(owner, 'job', { key: 'notes|-|n1', action: 'delete' }, notesBy('a'))
		).toBeUndefined();
		expect(verdict(ana, 'job', 'hoursLogged|h1', 'delete')).toMatch(/never erased/);
		expect(verdict(ana, 'customer', 'name|x', 'add', { ...stampOf(ana), v: 'Kim' })).toMatch(
			/Only the owner/
		);
		expect(
			verdict(owner, 'private-notes', 'privateNotes|a|+|n', 'add', { ...stampOf(owner), x: 'x' })
		).toMatch(/their author/);
	});
});
