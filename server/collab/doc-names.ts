/** The kinds of Yjs document the server serves; see DESIGN.md "Documents". */
export type DocKind = 'job' | 'materials' | 'customer';

/** A parsed document name `<kind>:<uuid>`. */
export interface DocRef {
	kind: DocKind;
	/** The entity id (job id for `job:`/`materials:`, customer id for `customer:`). */
	id: string;
}

// Lower-case UUIDs only: `job:ABC…` and `job:abc…` would otherwise be two documents for one job.
const docNamePattern =
	/^(job|materials|customer):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The parsed name, or null for any name the server does not serve. */
export function parseDocName(name: string): DocRef | null {
	const match = docNamePattern.exec(name);
	if (!match) return null;
	return { kind: match[1] as DocKind, id: match[2] as string };
}
