import { describe, expect, it } from 'vitest';
import { ENTITY_DEFS, fieldWords } from './schema.ts';

describe('field words (the schema names its fields for people)', () => {
	it('a field name means one field: every entity that has it words it alike', () => {
		const byName = new Map<string, string>();
		for (const def of Object.values(ENTITY_DEFS)) {
			for (const [field, spec] of Object.entries(def.fields)) {
				const words = JSON.stringify({ label: spec.label, heading: spec.heading });
				expect(byName.get(field) ?? words, `${def.name}.${field}`).toBe(words);
				byName.set(field, words);
			}
		}
	});

	it('every register people edit has a label and a heading', () => {
		for (const def of Object.values(ENTITY_DEFS)) {
			for (const [field, spec] of Object.entries(def.fields)) {
				if (spec.kind !== 'register' || field === 'createdAt') continue;
				expect(spec.label, `${def.name}.${field}`).toMatch(/^(the|whether) /);
				expect(spec.heading, `${def.name}.${field}`).toMatch(/^[A-Z]/);
			}
		}
		expect(fieldWords('scheduledStart')).toEqual({ label: 'the start date', heading: 'Start' });
		expect(fieldWords('touched')).toEqual({});
	});
});
