import { CrdtError } from './errors.ts';
import type { JsonScalar } from './resolvers.ts';
import { type EntityDef, MAX_TEXT_LENGTH, type RegisterSpec } from './schema.ts';

/** The register spec of `field`, or a typed error naming the field. */
export function registerSpec(def: EntityDef, field: string): RegisterSpec {
	const spec = def.fields[field];
	if (!spec) throw new CrdtError('unknown_field', `${def.name} has no field "${field}"`, field);
	if (spec.kind !== 'register') {
		throw new CrdtError(
			'wrong_field_kind',
			`${def.name}.${field} is a ${spec.kind}, not a plain value`,
			field
		);
	}
	return spec;
}

/** Checks a value against its field spec; throws `invalid_value` naming the field. */
export function validateValue(def: EntityDef, field: string, value: unknown): JsonScalar {
	const spec = registerSpec(def, field);
	const fail = (why: string): never => {
		throw new CrdtError('invalid_value', `${def.name}.${field} ${why}`, field);
	};
	if (value === null) return spec.nullable ? null : fail('cannot be empty');
	if (typeof value !== spec.type) return fail(`must be a ${spec.type}`);
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) fail('must be a finite number');
		if (spec.min !== undefined && value < spec.min) fail(`must be at least ${spec.min}`);
	}
	if (typeof value === 'string') {
		if (value.length > MAX_TEXT_LENGTH) fail(`is longer than ${MAX_TEXT_LENGTH} characters`);
		if (spec.oneOf && !spec.oneOf.includes(value)) fail(`must be one of ${spec.oneOf.join(', ')}`);
	}
	return value as JsonScalar;
}

export function validateText(def: EntityDef, field: string, text: unknown): string {
	if (typeof text !== 'string' || text.trim() === '') {
		throw new CrdtError('invalid_value', `${def.name}.${field} needs some text`, field);
	}
	if (text.length > MAX_TEXT_LENGTH) {
		throw new CrdtError(
			'invalid_value',
			`${def.name}.${field} is longer than ${MAX_TEXT_LENGTH} characters`,
			field
		);
	}
	return text;
}
