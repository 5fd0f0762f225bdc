/**
 * Document names (DESIGN "Documents"): `job:<jobId>`, `materials:<jobId>`, `customer:<customerId>`.
 * Ids are UUIDs made by whoever creates the entity, so creating works offline.
 */
export type DocKind = 'job' | 'materials' | 'customer';

export interface DocRef {
	readonly kind: DocKind;
	readonly id: string;
}

// Lower-case only: `job:ABC…` and `job:abc…` would otherwise be two documents for one job.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DOC_NAME = /^(job|materials|customer):(.+)$/;

export function isUuid(value: unknown): value is string {
	return typeof value === 'string' && UUID.test(value);
}

export function docName(kind: DocKind, id: string): string {
	return `${kind}:${id}`;
}

/** The parsed name, or `undefined` for anything that is not one of our documents. */
export function parseDocName(name: string): DocRef | undefined {
	const match = DOC_NAME.exec(name);
	if (!match?.[1] || !match[2] || !isUuid(match[2])) return undefined;
	return { kind: match[1] as DocKind, id: match[2] };
}
