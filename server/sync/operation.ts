/**
 * The spec's SyncOperation as this server accepts it (zod schema in `schemas.ts`). Only type
 * imports, so the client library (browser and Node) shares it.
 */
import type { EntityName } from '../../crdt/schema.ts';

export interface SyncOperation {
	/** Client-generated id; the idempotency key. */
	id: string;
	/** Client time (epoch ms) — timestamp conflict detection and LAST_WRITE_WINS. */
	timestamp: number;
	type: 'create' | 'update' | 'delete';
	entity: EntityName;
	entityId?: string | undefined;
	data?: Record<string, unknown> | undefined;
	/** The entity version this operation was based on (docs/rest-api.md "Versions"). */
	version?: number | undefined;
	clientId?: string | undefined;
	userId?: string | undefined;
}
