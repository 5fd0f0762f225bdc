import type { JsonScalar, ResolverName } from './resolvers.ts';

/**
 * The three entities of DESIGN.md ("Entities") as CRDT field kinds. Which resolver each register
 * uses is the spec's policy table; SPEC.md names the rule behind every choice.
 */
export type FieldSpec =
	| RegisterSpec
	| TouchSpec
	| { readonly kind: 'notes' | 'set' | 'counter' | 'privateNotes' };

/**
 * A register of bare stamps with no value: bookkeeping, not data. Written like any register
 * (delete the touches seen, add one's own; SPEC REG-1) by an edit that would otherwise only
 * delete, so every edit advances its writer's Yjs clock (SPEC DUR-1).
 */
export interface TouchSpec {
	readonly kind: 'touch';
}

export interface RegisterSpec {
	readonly kind: 'register';
	readonly type: 'string' | 'number' | 'boolean';
	readonly resolver: ResolverName;
	/** Value when nobody has written the field. */
	readonly empty: JsonScalar;
	readonly nullable?: boolean;
	/** Allowed values of a string field. */
	readonly oneOf?: readonly string[];
	/** Smallest allowed number. */
	readonly min?: number;
}

export type EntityName = 'customer' | 'job' | 'material';

export interface EntityDef {
	readonly name: EntityName;
	/** The entity's data: what `toJSON`, the REST API and the projection show. */
	readonly fields: Readonly<Record<string, FieldSpec>>;
	/**
	 * Fields stored in the entity's Y.Map that are not data (SPEC DUR-2): kept apart from `fields`
	 * so nothing that walks the data (JSON, conflicts, REST validation, policy) has to skip them.
	 */
	readonly hidden: Readonly<Record<string, FieldSpec>>;
}

/** The hidden touch register every entity has (SPEC DUR-1). */
export const TOUCH_FIELD = 'touched';
const hidden = { [TOUCH_FIELD]: { kind: 'touch' } } as const satisfies Record<string, TouchSpec>;

/** The spec of any key's field in the entity's Y.Map, data or hidden; undefined when unknown. */
export function storedFieldSpec(def: EntityDef, field: string): FieldSpec | undefined {
	// `hasOwn`: a key like `constructor|x` must not find Object.prototype's members.
	if (Object.hasOwn(def.fields, field)) return def.fields[field];
	return Object.hasOwn(def.hidden, field) ? def.hidden[field] : undefined;
}

export const JOB_STATUSES = ['lead', 'scheduled', 'in_progress', 'on_hold', 'done', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Longest text any single field or note accepts; a guard against runaway pastes, not a UX limit. */
export const MAX_TEXT_LENGTH = 10_000;

const text = (resolver: ResolverName): RegisterSpec => ({
	kind: 'register',
	type: 'string',
	resolver,
	empty: ''
});
const time = (resolver: ResolverName): RegisterSpec => ({
	kind: 'register',
	type: 'number',
	resolver,
	empty: null,
	nullable: true,
	min: 0
});
const createdAt: RegisterSpec = { kind: 'register', type: 'number', resolver: 'lww', empty: 0, min: 0 };
/** Tombstone: edits concurrent with a delete are kept and the entity stays deleted (SPEC TOMB-1). */
const deleted: RegisterSpec = { kind: 'register', type: 'boolean', resolver: 'lww', empty: false };

export const MATERIAL: EntityDef = {
	name: 'material',
	fields: {
		name: text('lww'),
		quantity: { kind: 'register', type: 'number', resolver: 'max', empty: 0, min: 0 },
		unit: text('lww'),
		purchased: { kind: 'register', type: 'boolean', resolver: 'or', empty: false },
		notes: { kind: 'notes' },
		createdAt,
		deleted
	},
	hidden
};

export const JOB: EntityDef = {
	name: 'job',
	fields: {
		customerId: { kind: 'register', type: 'string', resolver: 'role', empty: null, nullable: true },
		title: text('role'),
		status: { kind: 'register', type: 'string', resolver: 'role', empty: 'lead', oneOf: JOB_STATUSES },
		scheduledStart: time('role'),
		scheduledEnd: time('role'),
		address: text('role'),
		price: { kind: 'register', type: 'number', resolver: 'role', empty: null, nullable: true, min: 0 },
		assignedTo: { kind: 'set' },
		notes: { kind: 'notes' },
		hoursLogged: { kind: 'counter' },
		privateNotes: { kind: 'privateNotes' },
		createdAt,
		deleted
	},
	hidden
};

/**
 * Contact details are USER_CHOICE: two owners fixing a phone number differently while offline is
 * exactly where a silent pick would cost a missed call, so both stay visible until someone chooses.
 */
export const CUSTOMER: EntityDef = {
	name: 'customer',
	fields: {
		name: text('lww'),
		phone: text('userChoice'),
		email: text('userChoice'),
		address: text('userChoice'),
		notes: { kind: 'notes' },
		createdAt,
		deleted
	},
	hidden
};

export const ENTITY_DEFS: Readonly<Record<EntityName, EntityDef>> = {
	customer: CUSTOMER,
	job: JOB,
	material: MATERIAL
};

/** Fields only an owner may see or write (DESIGN "Entities": "price is the owner's alone"). */
export const OWNER_ONLY_FIELDS: Readonly<Record<EntityName, readonly string[]>> = {
	customer: [],
	job: ['price'],
	material: []
};
