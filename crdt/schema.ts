import type { JsonScalar, ResolverName } from './resolvers.ts';

/**
 * The three entities of docs/rest-api.md "Entities" as CRDT field kinds. Which resolver each register
 * uses is the spec's policy table; SPEC.md names the rule behind every choice.
 */
export type FieldSpec = (
	| RegisterSpec
	| TouchSpec
	| { readonly kind: 'notes' | 'set' | 'counter' | 'privateNotes' }
) &
	FieldAudience;

/**
 * Who may read a field (docs/documents.md "Audiences"). A document is the unit of access — whoever
 * opens it receives all of it, bytes and history — so each audience lives in a document of its own:
 * - `crew` (default): everyone who may open the entity (owners; for jobs and materials the assigned
 *   workers; for customers the workers of one of its jobs);
 * - `owner`: owners only (a job's price);
 * - `author`: only the person who wrote it (private notes).
 */
export type Audience = 'crew' | 'owner' | 'author';

export interface FieldAudience {
	/** Default `crew`. */
	readonly audience?: Audience;
	/** Only owners may write it, though the crew may read it (a job's customer, crew, tombstone). */
	readonly ownerWrites?: boolean;
	/** The field in plain words inside a sentence people read ("Your change to the crew was undone"). */
	readonly label?: string;
	/** The field's short name where it leads a line ("Quantity is 8, not 3", a form legend). */
	readonly heading?: string;
}

/**
 * A register of bare stamps with no value: bookkeeping, not data. Written like any register
 * (delete the touches seen, add one's own; SPEC REG-1) by an edit that would otherwise only
 * delete, so every edit advances its writer's Yjs clock (SPEC DUR-1).
 */
export interface TouchSpec extends FieldAudience {
	readonly kind: 'touch';
}

export interface RegisterSpec extends FieldAudience {
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
	/** Set on a part of an entity (see `entityPart`): the audience all its fields share. */
	readonly audience?: Audience;
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

export function isJobStatus(value: unknown): value is JobStatus {
	return (JOB_STATUSES as readonly unknown[]).includes(value);
}

/** Longest text any single field or note accepts; a guard against runaway pastes, not a UX limit. */
export const MAX_TEXT_LENGTH = 10_000;

/** Words for a field: `label` inside a sentence, `heading` where it leads a line. */
type Words = Pick<FieldAudience, 'label' | 'heading'>;

const text = (resolver: ResolverName, words: Words): RegisterSpec => ({
	kind: 'register',
	type: 'string',
	resolver,
	empty: '',
	...words
});
const time = (resolver: ResolverName, words: Words): RegisterSpec => ({
	kind: 'register',
	type: 'number',
	resolver,
	empty: null,
	nullable: true,
	min: 0,
	...words
});
const notes = { kind: 'notes', label: 'the notes' } as const satisfies FieldSpec;
const createdAt: RegisterSpec = {
	kind: 'register',
	type: 'number',
	resolver: 'lww',
	empty: 0,
	min: 0,
	label: 'the creation date'
};
/** Tombstone: edits concurrent with a delete are kept and the entity stays deleted (SPEC TOMB-1). */
const deleted: RegisterSpec = {
	kind: 'register',
	type: 'boolean',
	resolver: 'lww',
	empty: false,
	label: 'whether it is deleted',
	heading: 'Deleted'
};
/** A field only owners write; the crew still reads it (SPEC AUD-3). */
const ownerWrites = <S extends FieldSpec>(spec: S): S => ({ ...spec, ownerWrites: true });

export const MATERIAL: EntityDef = {
	name: 'material',
	fields: {
		name: text('lww', { label: 'the name', heading: 'Name' }),
		quantity: {
			kind: 'register',
			type: 'number',
			resolver: 'max',
			empty: 0,
			min: 0,
			label: 'the quantity',
			heading: 'Quantity'
		},
		unit: text('lww', { label: 'the unit', heading: 'Unit' }),
		purchased: {
			kind: 'register',
			type: 'boolean',
			resolver: 'or',
			empty: false,
			label: 'the purchased tick',
			heading: 'Purchased'
		},
		notes,
		createdAt,
		deleted
	},
	hidden
};

export const JOB: EntityDef = {
	name: 'job',
	fields: {
		customerId: {
			kind: 'register',
			type: 'string',
			resolver: 'role',
			empty: null,
			nullable: true,
			ownerWrites: true,
			label: 'the customer',
			heading: 'Customer'
		},
		title: text('role', { label: 'the title', heading: 'Title' }),
		status: {
			kind: 'register',
			type: 'string',
			resolver: 'role',
			empty: 'lead',
			oneOf: JOB_STATUSES,
			label: 'the status',
			heading: 'Status'
		},
		scheduledStart: time('role', { label: 'the start date', heading: 'Start' }),
		scheduledEnd: time('role', { label: 'the end date', heading: 'End' }),
		address: text('role', { label: 'the address', heading: 'Address' }),
		price: {
			kind: 'register',
			type: 'number',
			resolver: 'role',
			empty: null,
			nullable: true,
			min: 0,
			audience: 'owner',
			label: 'the price',
			heading: 'Price'
		},
		assignedTo: { kind: 'set', ownerWrites: true, label: 'the crew' },
		notes,
		hoursLogged: { kind: 'counter', label: 'the logged hours' },
		privateNotes: { kind: 'privateNotes', audience: 'author', label: 'private notes' },
		createdAt: ownerWrites(createdAt),
		deleted: ownerWrites(deleted)
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
		name: text('lww', { label: 'the name', heading: 'Name' }),
		phone: text('userChoice', { label: 'the phone number', heading: 'Phone' }),
		email: text('userChoice', { label: 'the email address', heading: 'Email' }),
		address: text('userChoice', { label: 'the address', heading: 'Address' }),
		notes,
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

export const ENTITY_NAMES = Object.keys(ENTITY_DEFS) as readonly EntityName[];

export function isEntityName(value: unknown): value is EntityName {
	return typeof value === 'string' && Object.hasOwn(ENTITY_DEFS, value);
}

/**
 * A field's words by its name alone (messages from the server carry only the name): a name means
 * the same field in every entity that has it, so the first entity's words are every entity's.
 */
export function fieldWords(field: string): Words {
	for (const def of Object.values(ENTITY_DEFS)) {
		if (!Object.hasOwn(def.fields, field)) continue;
		const spec = def.fields[field];
		return {
			...(spec?.label ? { label: spec.label } : {}),
			...(spec?.heading ? { heading: spec.heading } : {})
		};
	}
	return {};
}

/** A field's audience (SPEC AUD-1). */
export function audienceOf(spec: FieldSpec): Audience {
	return spec.audience ?? 'crew';
}

const fieldsWhere = (def: EntityDef, keep: (spec: FieldSpec) => boolean): string[] =>
	Object.entries(def.fields).flatMap(([field, spec]) => (keep(spec) ? [field] : []));

/** Fields only an owner may see (and so write): derived from the audiences, never listed by hand. */
export const OWNER_ONLY_FIELDS: Readonly<Record<EntityName, readonly string[]>> = {
	customer: fieldsWhere(CUSTOMER, (s) => audienceOf(s) === 'owner'),
	job: fieldsWhere(JOB, (s) => audienceOf(s) === 'owner'),
	material: fieldsWhere(MATERIAL, (s) => audienceOf(s) === 'owner')
};

/** Whether a worker may write `field` of `def` at all (SPEC AUD-3); owners write every field. */
export function workerMayWrite(def: EntityDef, field: string): boolean {
	const spec = Object.hasOwn(def.fields, field) ? def.fields[field] : undefined;
	return !!spec && audienceOf(spec) !== 'owner' && !spec.ownerWrites;
}

const parts = new Map<string, EntityDef>();

/**
 * The part of an entity one audience reads: its fields of that audience plus the hidden touch. Each
 * part is stored in a document of its own (doc-names.ts `DOC_LAYOUT`), so a device that may not read
 * a field never receives it (SPEC AUD-2).
 */
export function entityPart(def: EntityDef, audience: Audience): EntityDef {
	const key = `${def.name}:${audience}`;
	let part = parts.get(key);
	if (!part) {
		const fields = Object.fromEntries(
			Object.entries(def.fields).filter(([, s]) => audienceOf(s) === audience)
		);
		part = { name: def.name, audience, fields, hidden: def.hidden };
		parts.set(key, part);
	}
	return part;
}
