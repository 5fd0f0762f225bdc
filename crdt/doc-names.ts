import type { Audience, EntityName } from './schema.ts';

/**
 * Document names (docs/documents.md; SPEC DOC-2). A document is the unit of access, so each audience
 * of a job has a document of its own:
 * - `job:<jobId>` the job's crew fields; `job-owner:<jobId>` its owner-only fields (price);
 * - `private-notes:<jobId>:<userId>` one person's private notes on one job;
 * - `materials:<jobId>` the job's material list; `customer:<customerId>` a customer.
 * Ids are UUIDs made by whoever creates the entity, so creating works offline.
 */
export type DocKind = 'job' | 'job-owner' | 'private-notes' | 'materials' | 'customer';

export interface DocRef {
	readonly kind: DocKind;
	/** The entity's id: the job's for `job`, `job-owner`, `private-notes` and `materials`. */
	readonly id: string;
	/** `private-notes` only: the person whose notes these are. */
	readonly userId?: string;
}

/** How each kind of document stores its part of an entity (crdt/documents.ts reads it). */
export interface DocLayout {
	readonly entity: EntityName;
	/** Which fields of the entity the document holds (schema.ts `entityPart`). */
	readonly audience: Audience;
	/** The top-level Y.Map: the entity's map, or (materials) a map of one nested map per entity. */
	readonly root: string;
	readonly nested: boolean;
}

export const DOC_LAYOUT: Readonly<Record<DocKind, DocLayout>> = {
	job: { entity: 'job', audience: 'crew', root: 'job', nested: false },
	'job-owner': { entity: 'job', audience: 'owner', root: 'jobOwner', nested: false },
	'private-notes': { entity: 'job', audience: 'author', root: 'privateNotes', nested: false },
	materials: { entity: 'material', audience: 'crew', root: 'materials', nested: true },
	customer: { entity: 'customer', audience: 'crew', root: 'customer', nested: false }
};

export const DOC_KINDS = Object.keys(DOC_LAYOUT) as readonly DocKind[];

// Lower-case only: `job:ABC…` and `job:abc…` would otherwise be two documents for one job.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DOC_NAME = /^([a-z-]+):([^:]+)(?::([^:]+))?$/;

export function isUuid(value: unknown): value is string {
	return typeof value === 'string' && UUID.test(value);
}

export function docName(kind: Exclude<DocKind, 'private-notes'>, id: string): string {
	return `${kind}:${id}`;
}

/** The document of `userId`'s private notes on job `jobId`. */
export function privateNotesDocName(jobId: string, userId: string): string {
	return `private-notes:${jobId}:${userId}`;
}

/** The parsed name, or `undefined` for anything that is not one of our documents. */
export function parseDocName(name: string): DocRef | undefined {
	const match = DOC_NAME.exec(name);
	const kind = match?.[1];
	if (!kind || !Object.hasOwn(DOC_LAYOUT, kind) || !isUuid(match[2])) return undefined;
	if (kind === 'private-notes') {
		return isUuid(match[3]) ? { kind, id: match[2], userId: match[3] } : undefined;
	}
	return match[3] === undefined ? { kind: kind as DocKind, id: match[2] } : undefined;
}
