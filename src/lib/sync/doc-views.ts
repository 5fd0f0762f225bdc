import type * as Y from 'yjs';
import type { DocKind } from '$crdt/doc-names.ts';
import { CustomerDoc, JobDoc, JobOwnerDoc, MaterialListDoc, PrivateNotesDoc } from '$crdt/documents.ts';
import type { Entity, WriteContext } from '$crdt/entity.ts';

/** Which document a session holds: its kind, the entity (or job) id, and for private notes whose. */
export interface DocRef {
	readonly doc: Y.Doc;
	readonly kind: DocKind;
	readonly entityId: string;
	/** `private-notes` documents: whose notes these are. */
	readonly ownerUserId: string | undefined;
}

/** The entity with this id in the document, writing with `ctx`; undefined when it is not there. */
export function entityView(ref: DocRef, id: string, ctx: WriteContext): Entity | undefined {
	if (ref.kind === 'materials') return new MaterialListDoc(ref.doc, ref.entityId, ctx).get(id);
	if (id !== ref.entityId) return undefined;
	if (ref.kind === 'job') return new JobDoc(ref.doc, id, ctx).entity;
	if (ref.kind === 'customer') return new CustomerDoc(ref.doc, id, ctx).entity;
	if (ref.kind === 'job-owner') return new JobOwnerDoc(ref.doc, id, ctx).entity;
	return new PrivateNotesDoc(ref.doc, id, ref.ownerUserId ?? '', ctx).entity;
}

/** Every entity of the document: the materials of a list, else its one entity. */
export function entitiesOf(ref: DocRef, ctx: WriteContext): Entity[] {
	if (ref.kind === 'materials') {
		const list = new MaterialListDoc(ref.doc, ref.entityId, ctx);
		return list.ids().flatMap((id) => list.get(id) ?? []);
	}
	const view = entityView(ref, ref.entityId, ctx);
	return view ? [view] : [];
}

/** Ids of the entities a transaction touched (a material's map sits under its id). */
export function touchedEntities(ref: DocRef, tr: Y.Transaction): string[] {
	if (tr.changed.size === 0) return [];
	if (ref.kind !== 'materials') return [ref.entityId];
	const root = ref.doc.getMap('materials');
	const ids = new Set<string>();
	for (const [type, keys] of tr.changed) {
		if ((type as unknown) === root) for (const key of keys) if (key) ids.add(key);
		const item = (type as unknown as { _item?: { parent?: unknown; parentSub?: string | null } | null })
			._item;
		if (item?.parent === root && item.parentSub) ids.add(item.parentSub);
	}
	return [...ids];
}

/** What a notice about this document (or one material of it) names as its subject. */
export function subjectOf(ref: DocRef, entity: Entity | null, ctx: WriteContext): string {
	if (entity && ref.kind === 'materials') return String(entity.get('name') || 'A material');
	if (ref.kind === 'job')
		return String(new JobDoc(ref.doc, ref.entityId, ctx).entity.get('title') || 'This job');
	if (ref.kind === 'job-owner' || ref.kind === 'private-notes') return 'This job';
	if (ref.kind === 'customer')
		return String(new CustomerDoc(ref.doc, ref.entityId, ctx).entity.get('name') || 'This customer');
	return 'Materials';
}

/** An open document as far as notices about it care. */
export interface OpenDoc {
	readonly kind: DocKind;
	/** Why the server refused or closed it, if it did (`access_revoked`, `forbidden`…). */
	readonly denied: string | null;
}

/**
 * Whether a document closed with `access_revoked` tells the person so. Taking someone off a job
 * closes the job, its material list and its customer together (server/collab/revoke.ts): one
 * notice, from the job. A customer document tells only when no job document on this device was
 * closed for it (the customer page open alone); a material list never does (its job is open too).
 */
export function tellsRevocation(kind: DocKind, open: readonly OpenDoc[]): boolean {
	if (kind === 'materials') return false;
	if (kind !== 'customer') return true;
	return !open.some((d) => d.kind === 'job' && d.denied === 'access_revoked');
}
