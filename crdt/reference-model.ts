/**
 * Reference model for the convergence properties (SPEC CONV-2). It recomputes every field of the
 * three documents from the operation history alone, and deliberately shares no code with crdt/:
 * its own field table, its own "which writes are concurrent" and its own rules. If crdt/ and this
 * file agree on thousands of random histories, both are probably right; if they were one code
 * path, a bug would agree with itself.
 *
 * What the model gets from the harness, per operation: who made it, the stamp it produced (read
 * from the document right after the op), what it wrote, and `seen` — the ids of the earlier
 * operations whose writes its replica held at that moment. Everything else is derived here.
 */

export type Role = 'OWNER' | 'WORKER';
export type Value = string | number | boolean | null;

export interface ModelStamp {
	readonly t: number;
	readonly c: number;
	readonly u: string;
	readonly d: string;
	readonly r: Role;
}

/** Which entity an op touched: the job, the customer, or one material by its id. */
export type EntityRef = 'job' | 'customer' | `material:${string}`;

export type Effect =
	/** Register writes; a material add, job create and delete/restore are writes too. */
	| { readonly kind: 'write'; readonly entity: EntityRef; readonly fields: Readonly<Record<string, Value>> }
	| {
			readonly kind: 'append';
			readonly entity: EntityRef;
			/** `notes`, or `privateNotes:<userId>` — each is its own list. */
			readonly list: string;
			readonly noteId: string;
			readonly text: string;
	  }
	/** Delete (`deleted: true`) or restore a note. */
	| {
			readonly kind: 'mark';
			readonly entity: EntityRef;
			readonly list: string;
			readonly noteId: string;
			readonly deleted: boolean;
	  }
	| { readonly kind: 'addMember'; readonly member: string }
	| { readonly kind: 'removeMember'; readonly member: string }
	/** Replace: drops every seen member not in `members`; `added` are the adds it wrote. */
	| {
			readonly kind: 'replaceMembers';
			readonly members: readonly string[];
			readonly added: readonly string[];
	  }
	| { readonly kind: 'count'; readonly amount: number };

export interface ModelOp {
	readonly id: number;
	/**
	 * The stamp of the entry the op wrote: its own value, or its touch when it only deleted (a
	 * remove, a replace that only drops, a restore; SPEC DUR-1). Undefined when it wrote nothing:
	 * a remove or restore that found nothing to delete.
	 */
	readonly stamp: ModelStamp | undefined;
	readonly seen: ReadonlySet<number>;
	readonly effect: Effect;
	/**
	 * The document the op wrote into, when it is not its entity's main one (a job's owner part or a
	 * private-notes document, SPEC AUD-2). HLC-2 holds within a document: a write only observes the
	 * stamps of the document it writes.
	 */
	readonly doc?: string;
}

type Rule = 'or' | 'max' | 'role' | 'lww' | 'choice';
type FieldTable = Readonly<Record<string, readonly [Rule, Value]>>;

/** The spec's policy per field, written out again on purpose (see file comment). */
const FIELDS: Readonly<Record<'material' | 'job' | 'customer', FieldTable>> = {
	material: {
		name: ['lww', ''],
		quantity: ['max', 0],
		unit: ['lww', ''],
		purchased: ['or', false],
		createdAt: ['lww', 0],
		deleted: ['lww', false]
	},
	job: {
		customerId: ['role', null],
		title: ['role', ''],
		status: ['role', 'lead'],
		scheduledStart: ['role', null],
		scheduledEnd: ['role', null],
		address: ['role', ''],
		price: ['role', null],
		createdAt: ['lww', 0],
		deleted: ['lww', false]
	},
	customer: {
		name: ['lww', ''],
		phone: ['choice', ''],
		email: ['choice', ''],
		address: ['choice', ''],
		createdAt: ['lww', 0],
		deleted: ['lww', false]
	}
};

export function compareModelStamps(a: ModelStamp, b: ModelStamp): number {
	if (a.t !== b.t) return a.t < b.t ? -1 : 1;
	if (a.c !== b.c) return a.c < b.c ? -1 : 1;
	if (a.u !== b.u) return a.u < b.u ? -1 : 1;
	if (a.d !== b.d) return a.d < b.d ? -1 : 1;
	return 0;
}

/** One write that survives in the model's view: the op behind it and what it wrote. */
interface Live<V> {
	readonly op: ModelOp;
	readonly value: V;
}

/**
 * The heart of the model: of `writes` (ops writing one register), those no other write to the
 * same register has seen. Causality comes only from `seen`, never from stamps or arrival order.
 */
function concurrent<V>(writes: readonly Live<V>[], killers: readonly ModelOp[] = []): Live<V>[] {
	const all = [...writes.map((w) => w.op), ...killers];
	return writes.filter((w) => !all.some((other) => other !== w.op && other.seen.has(w.op.id)));
}

function stampOf(op: ModelOp): ModelStamp {
	if (!op.stamp) throw new Error(`model: op ${op.id} wrote an entry but has no stamp`);
	return op.stamp;
}

function latestOf<V>(live: readonly Live<V>[]): Live<V> | undefined {
	let best: Live<V> | undefined;
	for (const w of live) if (!best || compareModelStamps(stampOf(w.op), stampOf(best.op)) > 0) best = w;
	return best;
}

function resolve(rule: Rule, live: readonly Live<Value>[], empty: Value): Value {
	if (live.length === 0) return empty;
	switch (rule) {
		case 'or':
			return live.some((w) => w.value === true);
		case 'max':
			return Math.max(...live.map((w) => w.value as number));
		case 'role': {
			const owners = live.filter((w) => stampOf(w.op).r === 'OWNER');
			return latestOf(owners.length > 0 ? owners : live)?.value ?? empty;
		}
		case 'lww':
		case 'choice':
			return latestOf(live)?.value ?? empty;
	}
}

export interface ModelConflict {
	readonly entityId: string;
	readonly field: string;
	readonly value: Value;
	readonly values: readonly Value[];
	readonly needsChoice: boolean;
}

export interface ModelNote {
	readonly id: string;
	readonly text: string;
	readonly deleted: boolean;
}

export interface ModelEntity {
	readonly json: Record<string, Value | string[]>;
	readonly conflicts: ModelConflict[];
	readonly notes: ReadonlyMap<string, ModelNote[]>;
	readonly hoursByUser: Record<string, number>;
}

/** Computes one entity's plain JSON, conflicts, note lists and hours from the history. */
export function modelEntity(
	kind: 'material' | 'job' | 'customer',
	entityId: string,
	ref: EntityRef,
	history: readonly ModelOp[]
): ModelEntity {
	const ops = history.filter((op) => touches(op, ref, kind));
	// Every entry still in the entity's map: its time counts for updatedAt (SPEC MAT-7).
	const liveTimes: number[] = [];
	const json: Record<string, Value | string[]> = { id: entityId };
	const conflicts: ModelConflict[] = [];

	for (const [field, [rule, empty]] of Object.entries(FIELDS[kind])) {
		const writes: Live<Value>[] = [];
		for (const op of ops) {
			if (op.effect.kind === 'write' && field in op.effect.fields) {
				writes.push({ op, value: op.effect.fields[field] as Value });
			}
		}
		const live = concurrent(writes);
		for (const w of live) liveTimes.push(stampOf(w.op).t);
		json[field] = resolve(rule, live, empty);
		const values = distinctInStampOrder(live);
		if (values.length > 1) {
			conflicts.push({ entityId, field, value: json[field], values, needsChoice: rule === 'choice' });
		}
	}

	// The hidden touch register (SPEC DUR-1): not in the JSON, but its time counts for updatedAt.
	for (const touch of concurrent(touchWrites(ops))) liveTimes.push(stampOf(touch.op).t);
	const notes = modelNotes(ops, liveTimes);
	json.notes = render(notes.get('notes') ?? []);
	if (kind === 'job') {
		json.assignedTo = modelMembers(ops, liveTimes);
		json.hoursLogged = 0;
	}
	const hoursByUser: Record<string, number> = {};
	for (const op of ops) {
		if (op.effect.kind !== 'count') continue;
		const { u, t } = stampOf(op);
		hoursByUser[u] = (hoursByUser[u] ?? 0) + op.effect.amount;
		json.hoursLogged = (json.hoursLogged as number) + op.effect.amount;
		liveTimes.push(t);
	}
	json.updatedAt = Math.max(0, ...liveTimes);
	return { json, conflicts, notes, hoursByUser };
}

function touches(op: ModelOp, ref: EntityRef, kind: string): boolean {
	const e = op.effect;
	if (e.kind === 'write' || e.kind === 'append' || e.kind === 'mark') return e.entity === ref;
	// Assignments and hours exist only on the job.
	return kind === 'job';
}

function distinctInStampOrder(live: readonly Live<Value>[]): Value[] {
	const sorted = [...live].sort((a, b) => compareModelStamps(stampOf(a.op), stampOf(b.op)));
	const values: Value[] = [];
	for (const w of sorted) if (!values.includes(w.value)) values.push(w.value);
	return values;
}

/**
 * Notes per list, in stamp order. A note is deleted while some delete of it has not been seen
 * by a later delete or restore of the same note — the observed-remove rule every other removal
 * in the design follows, so which device's clientID is larger never decides (SPEC ID-1).
 */
function modelNotes(ops: readonly ModelOp[], liveTimes: number[]): Map<string, ModelNote[]> {
	const lists = new Map<string, { op: ModelOp; id: string; text: string }[]>();
	for (const op of ops) {
		if (op.effect.kind !== 'append') continue;
		const list = lists.get(op.effect.list) ?? [];
		list.push({ op, id: op.effect.noteId, text: op.effect.text });
		lists.set(op.effect.list, list);
		// Private notes live in a document of their own (SPEC AUD-2): they do not date the job.
		if (!op.effect.list.startsWith('privateNotes:')) liveTimes.push(stampOf(op).t);
	}
	const result = new Map<string, ModelNote[]>();
	for (const [name, appended] of lists) {
		appended.sort((a, b) => compareModelStamps(stampOf(a.op), stampOf(b.op)) || (a.id < b.id ? -1 : 1));
		result.set(
			name,
			appended.map((note) => {
				const liveDeletes = liveMarks(ops, name, note.id);
				for (const d of liveDeletes) liveTimes.push(stampOf(d.op).t);
				return { id: note.id, text: note.text, deleted: liveDeletes.length > 0 };
			})
		);
	}
	return result;
}

/** The deletes of one note that no later delete or restore of it has seen. */
function liveMarks(ops: readonly ModelOp[], list: string, noteId: string): Live<true>[] {
	const markOps = ops.filter(
		(op) => op.effect.kind === 'mark' && op.effect.list === list && op.effect.noteId === noteId
	);
	const deletes = markOps
		.filter((op) => op.effect.kind === 'mark' && op.effect.deleted)
		.map((op) => ({ op, value: true as const }));
	return concurrent(deletes, markOps);
}

export function render(notes: readonly ModelNote[]): string {
	return notes
		.filter((n) => !n.deleted)
		.map((n) => n.text)
		.join('\n---\n');
}

/**
 * Add-wins set: every add is its own entry; a remove kills the adds of that member its replica
 * had seen, a replace kills the seen adds of every member it leaves out. Concurrent adds survive.
 */
function modelMembers(ops: readonly ModelOp[], liveTimes: number[]): string[] {
	const live = liveAdds(addsOf(ops), ops);
	for (const add of live) liveTimes.push(stampOf(add.op).t);
	return [...new Set(live.map((a) => a.member))].sort();
}

interface Add {
	readonly op: ModelOp;
	readonly member: string;
}

function addsOf(ops: readonly ModelOp[]): Add[] {
	const adds: Add[] = [];
	for (const op of ops) {
		if (op.effect.kind === 'addMember') adds.push({ op, member: op.effect.member });
		if (op.effect.kind === 'replaceMembers') for (const member of op.effect.added) adds.push({ op, member });
	}
	return adds;
}

/** Of `adds`, those no op in `killers` removed. */
function liveAdds(adds: readonly Add[], killers: readonly ModelOp[]): Add[] {
	return adds.filter((add) => !killers.some((killer) => killer !== add.op && kills(killer, add)));
}

function kills(killer: ModelOp, add: Add): boolean {
	if (!killer.seen.has(add.op.id)) return false;
	const e = killer.effect;
	if (e.kind === 'removeMember') return e.member === add.member;
	if (e.kind === 'replaceMembers') return !e.members.includes(add.member);
	return false;
}

// ---------------------------------------------------------------------------------------------
// The touch register (SPEC DUR-1)

/**
 * Ops that wrote a touch: an op that can only delete (a remove, a replace that adds nothing, a
 * restore) and still wrote an entry. The harness reports the entry; that it happens exactly when
 * the op deleted something is checked in two halves: the harness checks "deleted ⇒ wrote" from the
 * Yjs updates, and here "wrote ⇒ had something to delete" from what its replica had seen.
 */
function touchWrites(ops: readonly ModelOp[]): Live<null>[] {
	const touches: Live<null>[] = [];
	for (const op of ops) {
		if (!canOnlyDelete(op) || !op.stamp) continue;
		if (!hadSomethingToDelete(op, ops))
			throw new Error(`model: op ${op.id} wrote a touch but deleted nothing`);
		touches.push({ op, value: null });
	}
	return touches;
}

function canOnlyDelete(op: ModelOp): boolean {
	const e = op.effect;
	return (
		e.kind === 'removeMember' ||
		(e.kind === 'replaceMembers' && e.added.length === 0) ||
		(e.kind === 'mark' && !e.deleted)
	);
}

/**
 * Whether the op's replica held a live member add or note delete mark for it to remove, by the
 * ops it had seen. An over-estimate (a replica may already have applied the deletes of an update
 * Yjs still holds pending), which is why only "wrote ⇒ had something" is checked with it.
 */
function hadSomethingToDelete(op: ModelOp, ops: readonly ModelOp[]): boolean {
	const e = op.effect;
	const held = ops.filter((other) => op.seen.has(other.id));
	const liveHeld = () => liveAdds(addsOf(held), held);
	if (e.kind === 'removeMember') return liveHeld().some((add) => add.member === e.member);
	if (e.kind === 'replaceMembers') return liveHeld().some((add) => !e.members.includes(add.member));
	if (e.kind === 'mark') return liveMarks(held, e.list, e.noteId).length > 0;
	return false;
}

function entityOf(op: ModelOp): EntityRef {
	const e = op.effect;
	return e.kind === 'write' || e.kind === 'append' || e.kind === 'mark' ? e.entity : 'job';
}

/**
 * SPEC HLC-2 from the history alone: a write made after its replica held a note of the same
 * entity must carry a later stamp, however wrong its wall clock. Notes are the witnesses because
 * they are never removed, so the writer always had them in view. Returns the offending pairs.
 */
export function causalityViolations(history: readonly ModelOp[]): { op: number; saw: number }[] {
	const found: { op: number; saw: number }[] = [];
	for (const op of history) {
		if (!op.stamp) continue;
		for (const earlier of history) {
			if (earlier.effect.kind !== 'append' || !op.seen.has(earlier.id) || earlier === op) continue;
			if ((earlier.doc ?? entityOf(earlier)) !== (op.doc ?? entityOf(op))) continue;
			if (compareModelStamps(op.stamp, stampOf(earlier)) <= 0) found.push({ op: op.id, saw: earlier.id });
		}
	}
	return found;
}
