import type * as Y from 'yjs';
import type { Entity } from '$crdt/entity.ts';
import type { JsonScalar } from '$crdt/resolvers.ts';

/**
 * Undo for one document, at the level of what a person did (added a material, ticked it, wrote a
 * note), not of Yjs items. `Y.UndoManager` cannot work here: undoing an add deletes the material's
 * map or the note's key, which the server refuses (materials and notes are removed only by
 * tombstone, SPEC TOMB-2, NOTE-1), and undoing a register write re-inserts the entries it replaced,
 * which carry someone else's stamp and are refused too ("entries must carry your own user"). So
 * every own transaction is turned into its inverse as ordinary, allowed writes with a fresh stamp:
 *
 * - an entity that appeared (material added, job or customer created) → tombstone; redo restores;
 * - a register that changed → write the old value again;
 * - a note added → hide it (soft delete); a note hidden or shown → the opposite;
 * - crew added / removed → remove / add;
 * - hours logged → log the opposite amount (hours are never erased).
 *
 * The inverse is found by comparing snapshots of the touched entities before and after each own
 * transaction; snapshots are refreshed after every transaction, whoever made it, so "before" is
 * always the state the person saw.
 */
export const undoHistoryDefaults = {
	/** Edits of the same field closer together than this are one undo step (a typing session). */
	mergeSameFieldMs: 2_000,
	/** Oldest steps are forgotten beyond this. */
	maxSteps: 100
} as const;

export interface EntitySnapshot {
	readonly exists: boolean;
	readonly registers: Readonly<Record<string, JsonScalar>>;
	/** noteField → noteId → hidden. */
	readonly notes: Readonly<Record<string, ReadonlyMap<string, boolean>>>;
	readonly members: Readonly<Record<string, readonly string[]>>;
	/** This user's own total per counter field. */
	readonly counters: Readonly<Record<string, number>>;
}

export interface HistoryHost {
	readonly doc: Y.Doc;
	/** The origin of the person's own edits: only these become undo steps. */
	readonly localOrigin: unknown;
	/** Origin undo and redo write with, so they never become steps themselves. */
	readonly undoOrigin: unknown;
	readonly userId: string;
	/** The entity with this id, writing with `undoOrigin` when `forUndo`; undefined if absent. */
	entity(id: string, forUndo: boolean): Entity | undefined;
	/** Ids of the entities a transaction touched. */
	touched(tr: Y.Transaction): Iterable<string>;
	/** Whether the entity has been created (a material map exists; a job's `createdAt` is written). */
	exists(entity: Entity): boolean;
}

interface Step {
	/** `entityId|field` when the step changed exactly one register, for merging a typing session. */
	readonly mergeKey: string | null;
	at: number;
	undo: Op[];
	redo: Op[];
}

type Op = (entity: (id: string) => Entity | undefined) => void;

const SKIPPED_REGISTERS = new Set(['createdAt']);

export function snapshotEntity(entity: Entity | undefined, exists: boolean, userId: string): EntitySnapshot {
	const registers: Record<string, JsonScalar> = {};
	const notes: Record<string, Map<string, boolean>> = {};
	const members: Record<string, string[]> = {};
	const counters: Record<string, number> = {};
	if (entity && exists) {
		for (const [field, spec] of Object.entries(entity.def.fields)) {
			if (spec.kind === 'register') {
				if (!SKIPPED_REGISTERS.has(field)) registers[field] = entity.get(field);
			} else if (spec.kind === 'notes') {
				notes[field] = new Map(entity.notes(field).map((n) => [n.id, n.deleted]));
			} else if (spec.kind === 'set') {
				members[field] = entity.members(field);
			} else if (spec.kind === 'counter') {
				counters[field] = entity.counterByUser(field).get(userId) ?? 0;
			}
		}
	}
	return { exists: Boolean(entity && exists), registers, notes, members, counters };
}

/**
 * The writes that take an entity from state `from` to state `target`: undo is `goTo(after, before)`,
 * redo `goTo(before, after)`. A note absent from a state counts as hidden there.
 */
function goTo(id: string, from: EntitySnapshot, target: EntitySnapshot): { ops: Op[]; fields: string[] } {
	if (!target.exists && from.exists) return { ops: [(e) => e(id)?.remove()], fields: ['deleted'] };
	if (target.exists && !from.exists) return { ops: [(e) => e(id)?.restore()], fields: ['deleted'] };
	const ops: Op[] = [];
	const fields: string[] = [];
	const registers: Record<string, JsonScalar> = {};
	for (const [field, value] of Object.entries(target.registers)) {
		const now = from.registers[field];
		if (now !== undefined && now !== value) {
			registers[field] = value;
			fields.push(field);
		}
	}
	if (fields.length > 0) ops.push((e) => e(id)?.set(registers));
	for (const field of new Set([...Object.keys(from.notes), ...Object.keys(target.notes)])) {
		const a = from.notes[field] ?? new Map<string, boolean>();
		const b = target.notes[field] ?? new Map<string, boolean>();
		for (const noteId of new Set([...a.keys(), ...b.keys()])) {
			const hidden = b.get(noteId) ?? true;
			if ((a.get(noteId) ?? true) === hidden) continue;
			ops.push((e) => e(id)?.setNoteDeleted(noteId, hidden, field));
			fields.push(field);
		}
	}
	for (const [field, list] of Object.entries(target.members)) {
		const now = new Set(from.members[field] ?? []);
		const want = new Set(list);
		const add = [...want].filter((m) => !now.has(m));
		const drop = [...now].filter((m) => !want.has(m));
		for (const m of add) ops.push((e) => e(id)?.addMember(m, field));
		for (const m of drop) ops.push((e) => e(id)?.removeMember(m, {}, field));
		if (add.length + drop.length > 0) fields.push(field);
	}
	for (const [field, total] of Object.entries(target.counters)) {
		const delta = total - (from.counters[field] ?? 0);
		if (delta === 0) continue;
		ops.push((e) => e(id)?.addToCounter(delta, field));
		fields.push(field);
	}
	return { ops, fields };
}

export class UndoHistory {
	private readonly snapshots = new Map<string, EntitySnapshot>();
	private undoStack: Step[] = [];
	private redoStack: Step[] = [];
	private readonly onTransaction = (tr: Y.Transaction) => this.afterTransaction(tr);

	constructor(
		private readonly host: HistoryHost,
		private readonly onChange: () => void = () => {},
		private readonly options: { mergeSameFieldMs: number; maxSteps: number } = undoHistoryDefaults
	) {
		host.doc.on('afterTransaction', this.onTransaction);
	}

	canUndo(): boolean {
		return this.undoStack.length > 0;
	}

	canRedo(): boolean {
		return this.redoStack.length > 0;
	}

	/** When the newest step was made (ms), to pick which document's undo goes first on a page. */
	lastAt(): number {
		return this.undoStack.at(-1)?.at ?? 0;
	}

	undo(): boolean {
		const step = this.undoStack.pop();
		if (!step) return false;
		this.apply(step.undo);
		this.redoStack.push(step);
		this.onChange();
		return true;
	}

	redo(): boolean {
		const step = this.redoStack.pop();
		if (!step) return false;
		this.apply(step.redo);
		this.undoStack.push(step);
		this.onChange();
		return true;
	}

	destroy(): void {
		this.host.doc.off('afterTransaction', this.onTransaction);
	}

	private apply(ops: Op[]): void {
		const entity = (id: string) => this.host.entity(id, true);
		this.host.doc.transact(() => {
			for (const op of ops) op(entity);
		}, this.host.undoOrigin);
	}

	private snapshot(id: string): EntitySnapshot {
		const entity = this.host.entity(id, false);
		return snapshotEntity(entity, entity ? this.host.exists(entity) : false, this.host.userId);
	}

	private afterTransaction(tr: Y.Transaction): void {
		const own = tr.origin === this.host.localOrigin;
		const undo: Op[] = [];
		const redo: Op[] = [];
		const keys: string[] = [];
		for (const id of new Set(this.host.touched(tr))) {
			const before = this.snapshots.get(id) ?? snapshotEntity(undefined, false, this.host.userId);
			const after = this.snapshot(id);
			this.snapshots.set(id, after);
			if (!own) continue;
			const back = goTo(id, after, before);
			if (back.ops.length === 0) continue;
			undo.push(...back.ops);
			redo.push(...goTo(id, before, after).ops);
			keys.push(...back.fields.map((f) => `${id}|${f}`));
		}
		if (!own || undo.length === 0) return;
		const now = Date.now();
		const mergeKey = keys.length === 1 && !keys[0]?.endsWith('|deleted') ? (keys[0] ?? null) : null;
		const top = this.undoStack.at(-1);
		if (mergeKey && top?.mergeKey === mergeKey && now - top.at < this.options.mergeSameFieldMs) {
			// One typing session: undo goes back to before it started, redo to its end.
			top.redo = redo;
			top.at = now;
		} else {
			this.undoStack.push({ mergeKey, at: now, undo, redo });
			if (this.undoStack.length > this.options.maxSteps) this.undoStack.shift();
		}
		this.redoStack = [];
		this.onChange();
	}
}
