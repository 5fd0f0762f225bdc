import * as Y from 'yjs';
import { DOC_LAYOUT } from './doc-names.ts';
import { Entity, type EntityJson, type FieldConflict, type WriteContext } from './entity.ts';
import { CrdtError } from './errors.ts';
import type { EntityMap } from './register.ts';
import { CUSTOMER, type EntityDef, entityPart, JOB, MATERIAL } from './schema.ts';

/**
 * Typed views of the three documents. A view holds no state of its own: every read goes to the
 * Y.Doc, so views over replicas that have exchanged updates read identical JSON.
 */

/** A document holding one entity in a top-level map (job, customer). Top-level Y types are
 * never created concurrently, so two offline creators cannot shadow each other's fields. */
abstract class SingleEntityDoc {
	readonly entity: Entity;

	constructor(
		readonly doc: Y.Doc,
		readonly id: string,
		def: EntityDef,
		root: string,
		ctx: WriteContext
	) {
		this.entity = new Entity(id, doc.getMap(root), def, ctx);
	}

	/** True once someone has written the entity's `createdAt`. */
	exists(): boolean {
		return this.entity.field('createdAt').entries.length > 0;
	}

	/** Writes the initial fields and `createdAt`; an existing entity is updated instead, never reset. */
	create(fields: Readonly<Record<string, unknown>>, nowMs = Date.now()): void {
		this.entity.set(this.exists() ? fields : { ...fields, createdAt: nowMs });
	}

	read(): EntityJson | undefined {
		return this.exists() ? this.entity.toJSON() : undefined;
	}

	conflicts(): FieldConflict[] {
		return this.entity.conflicts();
	}
}

/** `job:<jobId>`: the job's crew fields (SPEC AUD-2: never its price or anyone's private notes). */
export class JobDoc extends SingleEntityDoc {
	constructor(doc: Y.Doc, jobId: string, ctx: WriteContext) {
		super(doc, jobId, entityPart(JOB, 'crew'), DOC_LAYOUT.job.root, ctx);
	}
}

export class CustomerDoc extends SingleEntityDoc {
	constructor(doc: Y.Doc, customerId: string, ctx: WriteContext) {
		super(doc, customerId, entityPart(CUSTOMER, 'crew'), DOC_LAYOUT.customer.root, ctx);
	}
}

/**
 * A part of a job that has no life of its own: it exists with its job, so it has no `createdAt`.
 * `job-owner:<jobId>` holds the owner-only fields, `private-notes:<jobId>:<userId>` one person's notes.
 */
abstract class JobPartDoc {
	readonly entity: Entity;

	constructor(
		readonly doc: Y.Doc,
		readonly jobId: string,
		kind: 'job-owner' | 'private-notes',
		ctx: WriteContext
	) {
		const layout = DOC_LAYOUT[kind];
		this.entity = new Entity(jobId, doc.getMap(layout.root), entityPart(JOB, layout.audience), ctx);
	}

	/** True once anyone has written into this part. */
	isEmpty(): boolean {
		return this.entity.map.size === 0;
	}

	conflicts(): FieldConflict[] {
		return this.entity.conflicts();
	}
}

/** `job-owner:<jobId>`: price and every other field whose audience is `owner` (SPEC AUD-2). */
export class JobOwnerDoc extends JobPartDoc {
	constructor(doc: Y.Doc, jobId: string, ctx: WriteContext) {
		super(doc, jobId, 'job-owner', ctx);
	}

	/** The owner-only fields as JSON (no id, no updatedAt): what the job entity adds for owners. */
	read(): EntityJson {
		const { id: _id, updatedAt: _updatedAt, ...fields } = this.entity.toJSON();
		return fields;
	}
}

/** `private-notes:<jobId>:<userId>`: one person's private notes on one job (SPEC AUD-2, NOTE-4). */
export class PrivateNotesDoc extends JobPartDoc {
	constructor(
		doc: Y.Doc,
		jobId: string,
		readonly userId: string,
		ctx: WriteContext
	) {
		super(doc, jobId, 'private-notes', ctx);
	}
}

/** `materials:<jobId>`: one nested Y.Map per material, created only by whoever made its UUID. */
export class MaterialListDoc {
	private readonly root: Y.Map<EntityMap>;

	constructor(
		readonly doc: Y.Doc,
		readonly jobId: string,
		private readonly ctx: WriteContext
	) {
		this.root = doc.getMap('materials');
	}

	/** Adds a material; `input.id` lets a caller (the REST API) bring its own UUID. */
	add(input: Readonly<Record<string, unknown>> & { id?: string }, nowMs = Date.now()): Entity {
		const { id = crypto.randomUUID(), ...fields } = input;
		if (this.root.has(id)) throw new CrdtError('duplicate_entity', `material ${id} already exists`);
		let entity: Entity | undefined;
		this.doc.transact(() => {
			const map = new Y.Map<unknown>();
			this.root.set(id, map);
			entity = new Entity(id, map, MATERIAL, this.ctx);
			entity.set({ name: '', quantity: 0, unit: '', purchased: false, ...fields, createdAt: nowMs });
		}, this.ctx.origin ?? this.ctx.writer);
		return entity as Entity;
	}

	get(id: string): Entity | undefined {
		const map = this.root.get(id);
		return map instanceof Y.Map ? new Entity(id, map, MATERIAL, this.ctx) : undefined;
	}

	require(id: string): Entity {
		const entity = this.get(id);
		if (!entity) throw new CrdtError('unknown_entity', `no material ${id} on job ${this.jobId}`);
		return entity;
	}

	ids(): string[] {
		return [...this.root.keys()].sort();
	}

	/** Every material, deleted ones included (flagged), in creation order. */
	list(): EntityJson[] {
		return this.ids()
			.map((id) => this.read(id) as EntityJson)
			.sort((a, b) => Number(a.createdAt) - Number(b.createdAt) || String(a.id).localeCompare(String(b.id)));
	}

	read(id: string): EntityJson | undefined {
		const json: EntityJson | undefined = this.get(id)?.toJSON();
		if (json) json.jobId = this.jobId;
		return json;
	}

	conflicts(): FieldConflict[] {
		return this.ids().flatMap((id) => (this.get(id) as Entity).conflicts());
	}
}
