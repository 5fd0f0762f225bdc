import { describe, expect, it } from 'vitest';
import { rejectedNotice } from './plain-words.ts';

describe('rejected notices in plain words', () => {
	it('keeps the server’s sentence when it is written for people', () => {
		expect(rejectedNotice('price', 'Your change to price was undone: only the owner can change it.')).toBe(
			'Your change to price was undone: only the owner can change it.'
		);
	});

	it('never shows field names or storage terms', () => {
		const text = rejectedNotice('deleted', 'Materials are deleted with a tombstone so they can be restored.');
		expect(text).toBe('This was put back: things are removed with Delete, so they can be restored.');
		for (const [field, message] of [
			['deleted', 'Materials are deleted with a tombstone so they can be restored.'],
			['notes', 'Notes can be hidden, never erased or rewritten.'],
			['touched', 'Entries must carry your own user and role.'],
			[null, null]
		] as const) {
			expect(rejectedNotice(field, message)).not.toMatch(/tombstone|entr(y|ies)|touched|deleted\b|stamp/i);
		}
	});
});

describe('field words come from the schema', () => {
	it('names each field as before: the schema label, or what this notice says instead', () => {
		const sentence = (field: string) => rejectedNotice(field, null);
		expect(sentence('price')).toBe('Your change to the price was undone: you are not allowed to make it.');
		expect(sentence('scheduledStart')).toContain('the start date');
		expect(sentence('phone')).toContain('the phone number');
		expect(sentence('assignedTo')).toContain('the crew');
		expect(sentence('privateNotes')).toBe(
			'Your change to your own notes was undone: only you can write your own notes.'
		);
		expect(sentence('createdAt')).toContain('change to this was');
		expect(sentence('nonsense')).toContain('change to this was');
	});
});
