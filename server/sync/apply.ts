import * as Y from 'yjs';
import {
	CrdtError,
	CustomerDoc,
	ENTITY_DEFS,
	type Entity,
	type EntityDef,
	isStamp,
	JOB,
	JobDoc,
	JobOwnerDoc,
	MaterialListDoc,
	NOTE_SEPARATOR,
	OWNER_ONLY_FIELDS,
	type Role,
	SEEN_ALL,
	type Seen,
	seenWithin,
	validateText,
	validateValue,
	type WriteContext,
	workerMayWrite
} from '../../crdt/index.ts';
import { SyncError } from './errors.ts';
import type { SyncOperation } from './operation.ts';
import { type PolicyTable, strategyFor } from './policy.ts';
import { ConflictResolver, type ResolutionStrategy, type ResolvedConflict } from './resolver.ts';
import { sameJson } from './same-json.ts';

/**
 * Applies ONE (batched) operation to its document, inside the caller's Yjs transaction, so it is
 * atomic: every field is validated before the first write (SPEC VAL-1), and a thrown `SyncError` /
 * `CrdtError` leaves the document untouched.
 *
 * What the operation has seen (docs/rest-api.md "Versions"):
 * - with `version`: the register entries inside the state vector stored with that version (`base`);
 * - without: the entries written at or before the operation's `timestamp` (timestamp detection).
 * Writes remove only what was seen, so later writes stay concurrent and the field's resolver decides,
 * unless the conflict policy says otherwise (see `resolve` below and server/sync/README.md).
 */
export interface BaseVersion {
	version: number;
	data: Record<string, unknown>;
	stateVector: Uint8Array;
}

export interface FieldConflictReport extends ResolvedConflict {
	id: string;
	operationId: string;
	entity: SyncOperation['entity'];
	entityId: string;
	field: string;
	detectedBy: Array<'version' | 'timestamp' | 'field'>;
	strategy: ResolutionStrategy;
	clientValue: unknown;
	serverValue: unknown;
	baseValue: unknown;
}

export interface ApplyInput {
	doc: Y.Doc;
	op: SyncOperation;
	entityId: string;
	/** materials: the job whose list holds the material. */
	jobId: string | null;
	/**
	 * `owner`: `doc` is the job's `job-owner:` document and `op.data` holds only owner-only fields
	 * (push splits a job operation by audience, SPEC AUD-2). The part exists with its job.
	 */
	part?: 'owner';
	ctx: WriteContext;
	role: Role;
	/** Projected version now (0 when not projected yet). */
	currentVersion: number;
	base: BaseVersion | null;
	policy: PolicyTable;
}

export interface ApplyOutcome {
	/** Field values the client asked for, to tell `applied` from `merged` afterwards. */
	expected: Record<string, unknown>;
	conflicts: FieldConflictReport[];
	created: boolean;
}

/** Keys clients echo back from pulled entities; never written by an operation. */
const IGNORED = new Set(['id', 'version', 'updatedAt']);

const resolver = new ConflictResolver();

interface Located {
	entity: Entity | undefined;
	exists: boolean;
	create(fields: Record<string, unknown>, createdAt: number): Entity;
}

function locate(input: ApplyInput): Located {
	const { doc, op, entityId, ctx } = input;
	if (input.part === 'owner') {
		const view = new JobOwnerDoc(doc, entityId, ctx);
		return { entity: view.entity, exists: true, create: () => view.entity };
	}
	if (op.entity === 'material') {
		const list = new MaterialListDoc(doc, input.jobId ?? '', ctx);
		const entity = list.get(entityId);
		const exists = !!entity && entity.field('createdAt').entries.length > 0;
		return {
			entity,
			exists,
			create: (fields, createdAt) => list.add({ ...fields, id: entityId }, createdAt)
		};
	}
	const view = op.entity === 'job' ? new JobDoc(doc, entityId, ctx) : new CustomerDoc(doc, entityId, ctx);
	return {
		entity: view.entity,
		exists: view.exists(),
		create: (fields, createdAt) => {
			view.entity.set({ ...fields, createdAt });
			return view.entity;
		}
	};
}

type Checked =
	| { kind: 'register'; value: string | number | boolean | null }
	| { kind: 'notes'; text: string }
	| { kind: 'set'; replace?: string[]; add?: string[]; remove?: string[] }
	| { kind: 'counter'; total: number };

function dataField(field: string): string {
	return `data.${field}`;
}

/** Validates every field first; throws naming the field (`data.<field>`). */
export function checkFields(def: EntityDef, data: Record<string, unknown>): Map<string, Checked> {
	const checked = new Map<string, Checked>();
	for (const [field, value] of Object.entries(data)) {
		const spec = def.fields[field];
		if (!spec || spec.kind === 'privateNotes') {
			throw new SyncError('unknown_field', `a ${def.name} has no field "${field}"`, dataField(field));
		}
		try {
			if (spec.kind === 'register')
				checked.set(field, { kind: 'register', value: validateValue(def, field, value) });
			else if (spec.kind === 'notes') {
				if (typeof value !== 'string')
					throw new CrdtError('invalid_value', `${def.name}.${field} must be a string`, field);
				if (value !== '') validateText(def, field, value);
				checked.set(field, { kind: 'notes', text: value });
			} else if (spec.kind === 'counter') {
				if (typeof value !== 'number' || !Number.isFinite(value)) {
					throw new CrdtError('invalid_value', `${def.name}.${field} must be a finite number`, field);
				}
				checked.set(field, { kind: 'counter', total: value });
			} else if (spec.kind === 'set') checked.set(field, checkSet(def, field, value));
		} catch (error) {
			if (error instanceof CrdtError) throw new SyncError('invalid_field', error.message, dataField(field));
			throw error;
		}
	}
	return checked;
}

const isStringArray = (v: unknown): v is string[] =>
	Array.isArray(v) && v.every((m) => typeof m === 'string' && m !== '');

/** Assignments: an array replaces (as far as the writer has seen); `{add, remove}` edits (JobAssignmentResolver). */
function checkSet(def: EntityDef, field: string, value: unknown): Checked {
	if (isStringArray(value)) return { kind: 'set', replace: [...new Set(value)] };
	if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
		const { add = [], remove = [], replace, ...rest } = value as Record<string, unknown>;
		if (Object.keys(rest).length === 0 && isStringArray(add) && isStringArray(remove)) {
			if (replace === undefined) return { kind: 'set', add, remove };
			if (isStringArray(replace)) return { kind: 'set', replace: [...new Set(replace)] };
		}
	}
	throw new CrdtError(
		'invalid_value',
		`${def.name}.${field} must be an array of ids or {add, remove}`,
		field
	);
}

/** The notes text to append for `sent`: the spec's mergeNotes, never overwriting (SPEC MAT-6; docs/rest-api.md). */
export function notesToAppend(sent: string, current: string, base: string | undefined): string | null {
	if (sent.trim() === '' || sent === current || current.includes(sent) || sent === base) return null;
	let part = sent;
	if (current !== '' && sent.startsWith(current)) part = sent.slice(current.length);
	else if (base !== undefined && base !== '' && sent.startsWith(base)) part = sent.slice(base.length);
	if (part.startsWith(NOTE_SEPARATOR)) part = part.slice(NOTE_SEPARATOR.length);
	return part.trim() === '' ? null : part;
}

/** Time and role of the latest entry under `field` (LAST_WRITE_WINS, ROLE_BASED inputs). */
function fieldStamp(entity: Entity, field: string): { t: number; r: Role | null } {
	let t = 0;
	let r: Role | null = null;
	const prefix = `${field}|`;
	for (const [key, value] of entity.map.entries()) {
		if (key.startsWith(prefix) && isStamp(value) && value.t >= t) {
			t = value.t;
			r = value.r;
		}
	}
	return { t, r };
}

/**
 * The operation's data as it may be written, and the entity's current state: ignored fields dropped,
 * a material kept on its job, role rules enforced. Throws `SyncError` (invalid_field, not_found,
 * forbidden — in that order of precedence).
 */
function writableData(
	input: ApplyInput,
	located: Located
): { data: Record<string, unknown>; live: Record<string, unknown> } {
	const { op, entityId } = input;
	const data: Record<string, unknown> = { ...(op.data ?? {}) };
	for (const key of IGNORED) delete data[key];
	if (op.entity === 'material') {
		if (data.jobId !== undefined && data.jobId !== input.jobId) {
			throw new SyncError('invalid_field', 'a material cannot move to another job', 'data.jobId');
		}
		delete data.jobId;
	}
	if (op.type === 'delete') data.deleted = true;
	if (located.exists) delete data.createdAt;

	if (!located.exists && op.type !== 'create') {
		throw new SyncError('not_found', `no ${op.entity} ${entityId}`, 'entityId');
	}
	const live = located.exists && located.entity ? located.entity.toJSON() : {};
	if (input.role !== 'OWNER') {
		if (op.entity === 'customer') throw new SyncError('forbidden', 'only the owner can change customers');
		if (op.entity === 'job') {
			if (!located.exists) throw new SyncError('forbidden', 'only the owner can create jobs');
			for (const field of Object.keys(data)) {
				if (!Object.hasOwn(JOB.fields, field) || workerMayWrite(JOB, field)) continue;
				// A field the worker may not even read gets the same answer whatever the value, so
				// pushes cannot probe it (server rule VIS-3); a readable one may be echoed back unchanged.
				if (OWNER_ONLY_FIELDS.job.includes(field) || !sameJson(data[field], live[field])) {
					throw new SyncError('forbidden', `only the owner can change ${field}`, dataField(field));
				}
				delete data[field];
			}
		}
	}
	return { data, live };
}

/** What each sent field should read after the write, as far as the client said it outright. */
function expectedValues(checked: Map<string, Checked>): Record<string, unknown> {
	const expected: Record<string, unknown> = {};
	for (const [field, c] of checked) {
		if (c.kind === 'register') expected[field] = c.value;
		else if (c.kind === 'counter') expected[field] = c.total;
		else if (c.kind === 'set' && c.replace) expected[field] = [...c.replace].sort();
		else if (c.kind === 'notes' && c.text !== '') expected[field] = c.text;
	}
	return expected;
}

/** A create: nothing to conflict with, every field is written as sent. */
function createEntity(located: Located, checked: Map<string, Checked>, data: Record<string, unknown>): void {
	const registers: Record<string, unknown> = {};
	for (const [field, c] of checked)
		if (c.kind === 'register' && field !== 'createdAt') registers[field] = c.value;
	const createdAt = typeof data.createdAt === 'number' ? data.createdAt : Date.now();
	const entity = located.create(registers, createdAt);
	for (const [field, c] of checked) {
		if (c.kind === 'notes' && c.text.trim() !== '') entity.appendNote(c.text, field);
		if (c.kind === 'counter' && c.total !== 0) entity.addToCounter(c.total, field);
		if (c.kind === 'set') for (const m of c.replace ?? c.add ?? []) entity.addMember(m, field);
	}
}

export function applyOperation(input: ApplyInput): ApplyOutcome {
	const { op, entityId } = input;
	const located = locate(input);
	const { data, live } = writableData(input, located);
	const checked = checkFields(ENTITY_DEFS[op.entity], data);
	const expected = expectedValues(checked);
	if (!located.exists) {
		createEntity(located, checked, data);
		return { expected, conflicts: [], created: true };
	}

	const entity = located.entity as Entity;
	const base = input.base;
	const baseSeen: Seen = base
		? seenWithin(entity.map, Y.decodeStateVector(base.stateVector))
		: seenAtOrBefore(entity.map, op.timestamp);
	const versionConflict = op.version !== undefined && input.currentVersion > op.version;
	const timestampConflict = typeof live.updatedAt === 'number' && live.updatedAt > op.timestamp;
	const conflicts: FieldConflictReport[] = [];

	/** Decides how a conflicting field is written; undefined → not at all. */
	const resolve = (field: string, clientValue: unknown): Seen | undefined => {
		const strategy = strategyFor(input.policy, op.entity, field);
		const stamp = fieldStamp(entity, field);
		const resolved = resolver.resolve(
			{
				id: `${op.id}:${field}`,
				clientOperation: { timestamp: op.timestamp, userRole: input.role },
				clientState: { [field]: clientValue },
				serverState: { [field]: live[field], updatedAt: stamp.t, lastModifiedByRole: stamp.r },
				baseState: base ? { [field]: base.data[field] } : undefined
			},
			strategy
		);
		const detectedBy: FieldConflictReport['detectedBy'] = ['field'];
		if (versionConflict) detectedBy.unshift('version');
		if (timestampConflict) detectedBy.unshift('timestamp');
		conflicts.push({
			id: `${op.id}:${field}`,
			operationId: op.id,
			entity: op.entity,
			entityId,
			field,
			detectedBy,
			strategy,
			clientValue,
			serverValue: live[field],
			baseValue: base?.data[field],
			...resolved
		});
		if (resolved.resolution === 'server_wins') return undefined;
		if (resolved.resolution === 'client_wins') return SEEN_ALL;
		return baseSeen;
	};

	/** Three-way (with a base) or timestamp (without) conflict test of one field. */
	const conflicting = (field: string, clientValue: unknown): boolean => {
		const serverValue = live[field];
		if (sameJson(clientValue, serverValue)) return false;
		if (base) return !sameJson(serverValue, base.data[field]);
		return fieldStamp(entity, field).t > op.timestamp;
	};

	for (const [field, c] of checked) {
		const baseValue = base?.data[field];
		if (c.kind === 'register') {
			if (base && sameJson(c.value, baseValue)) {
				delete expected[field]; // the client did not change it (a whole-entity echo)
				continue;
			}
			const entries = entity.field(field).entries.length;
			if (sameJson(c.value, live[field]) && entries <= 1) continue; // changes nothing: no version bump
			const seen = conflicting(field, c.value) ? resolve(field, c.value) : baseSeen;
			if (seen) entity.set({ [field]: c.value }, { seen });
		} else if (c.kind === 'notes') {
			const part = notesToAppend(
				c.text,
				String(live[field] ?? ''),
				typeof baseValue === 'string' ? baseValue : undefined
			);
			if (part !== null) entity.appendNote(part, field);
		} else if (c.kind === 'counter') {
			const from = typeof baseValue === 'number' ? baseValue : Number(live[field] ?? 0);
			const delta = Math.round((c.total - from) * 1000) / 1000;
			if (delta !== 0) entity.addToCounter(delta, field);
		} else if (c.kind === 'set') {
			if (c.replace) {
				const sorted = [...c.replace].sort();
				if (base && sameJson(sorted, [...((baseValue as string[] | undefined) ?? [])].sort())) {
					delete expected[field];
					continue;
				}
				if (sameJson(sorted, live[field])) continue;
				const seen = conflicting(field, sorted) ? resolve(field, sorted) : baseSeen;
				if (seen) entity.replaceMembers(sorted, { seen }, field);
			} else {
				const current = (live[field] as string[] | undefined) ?? [];
				for (const m of c.add ?? []) if (!current.includes(m)) entity.addMember(m, field);
				for (const m of c.remove ?? []) entity.removeMember(m, { seen: baseSeen }, field);
			}
		}
	}
	return { expected, conflicts, created: false };
}

/** Without a base version: the entries written at or before the operation's time count as seen. */
function seenAtOrBefore(map: Y.Map<unknown>, timestamp: number): Seen {
	return (key) => {
		const value = map.get(key);
		return isStamp(value) && value.t <= timestamp;
	};
}
