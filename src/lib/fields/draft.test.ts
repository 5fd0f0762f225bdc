import { describe, expect, it } from 'vitest';
import { FieldDraft } from './draft.svelte.ts';

describe('FieldDraft', () => {
	it('sends what was typed once, however many commits follow', () => {
		const draft = new FieldDraft();
		draft.focus('555-0100');
		draft.input('555-0002');
		expect(draft.take('555-0100')).toBe('555-0002');
		// A concurrent value arrives; the field blurs (Enter, then leaving, or the field replaced by a
		// conflict choice): nothing new was typed, so nothing is written over the other value.
		expect(draft.take('555-0001')).toBeUndefined();
		draft.blur();
		expect(draft.touched).toBe(false);
	});

	it('sends again after more typing, and never a draft equal to the value', () => {
		const draft = new FieldDraft();
		draft.focus('a');
		expect(draft.take('a')).toBeUndefined();
		draft.input('a');
		expect(draft.take('a')).toBeUndefined();
		draft.input('ab');
		expect(draft.take('a')).toBe('ab');
		draft.input('abc');
		expect(draft.take('ab')).toBe('abc');
	});

	it('shows the draft only once typed in since focus', () => {
		const draft = new FieldDraft();
		draft.focus('x');
		expect(draft.touched).toBe(false);
		draft.input('xy');
		expect(draft.touched).toBe(true);
		expect(draft.text).toBe('xy');
	});
});
