import { z } from 'zod';
import { ENTITY_NAMES, JOB_STATUSES } from '../../crdt/schema.ts';
import { ROLES } from '../../crdt/writer.ts';
import { STRATEGIES } from './resolver.ts';

/**
 * The sync API's request and response shapes: ONE source for validation (push envelope and
 * operations, pull query) and for `GET /api/openapi.json` (docs/rest-api.md). Tests parse responses with the
 * response schemas, so documentation and behaviour cannot drift apart. The read models' TypeScript
 * types are inferred from them (end of file): the server's readers return them, and the app
 * imports them type-only (src/lib/api/types.ts).
 */
const entityName = z.enum(ENTITY_NAMES).meta({ description: 'Entity type, singular' });
const uuid = z
	.string()
	.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a lower-case UUID');

export const SyncOperationSchema = z
	.object({
		id: z.string().min(1).max(200).meta({ description: 'Client-generated id; the idempotency key' }),
		timestamp: z.number().finite().nonnegative().meta({ description: 'Client time, epoch ms' }),
		type: z.enum(['create', 'update', 'delete']),
		entity: entityName,
		entityId: uuid.optional().meta({ description: 'Required for update/delete; create may use data.id' }),
		data: z
			.record(z.string(), z.unknown())
			.optional()
			.meta({
				description:
					'Fields to write. material create needs data.jobId. notes text is merged (mergeNotes), never overwritten; ' +
					'assignedTo is an array (replace) or {add, remove}; hoursLogged is the new total; restore is {deleted:false}.'
			}),
		version: z
			.number()
			.int()
			.nonnegative()
			.optional()
			.meta({ description: 'Entity version the operation is based on' }),
		clientId: z.string().max(200).optional().meta({ description: 'Device id' }),
		userId: z.string().optional().meta({ description: 'Must be the caller when present' })
	})
	.meta({ id: 'SyncOperation' });

const pushEnvelopeFields = {
	lastSyncToken: z.string().optional(),
	deviceId: z.string().min(1).max(200)
};

export const PushRequestSchema = z
	.object({
		operations: z
			.array(SyncOperationSchema)
			.meta({ description: 'At most 1000; each is validated on its own' }),
		...pushEnvelopeFields
	})
	.meta({ id: 'PushRequest' });

/** The envelope as validated: operations are checked one by one, so one bad operation rejects only itself. */
export const PushEnvelopeSchema = z.object({ operations: z.array(z.unknown()), ...pushEnvelopeFields });

export const OperationErrorSchema = z.object({
	code: z.string(),
	message: z.string(),
	field: z.string().optional()
});

export const ProcessedOperationSchema = z
	.object({
		operationId: z.string().nullable(),
		status: z.enum(['applied', 'merged', 'duplicate', 'rejected']),
		entity: entityName.nullable(),
		entityId: z.string().nullable(),
		version: z.number().int().nullable(),
		error: OperationErrorSchema.optional()
	})
	.meta({ id: 'ProcessedOperation' });

export const UserNotificationSchema = z
	.object({
		type: z.enum(['info', 'warning', 'action_required']),
		message: z.string(),
		details: z
			.array(z.object({ field: z.string(), yourValue: z.unknown(), currentValue: z.unknown() }))
			.optional(),
		action: z.object({ label: z.string(), handler: z.string(), payload: z.string() }).optional()
	})
	.nullable();

export const SyncConflictSchema = z
	.object({
		id: z.string(),
		operationId: z.string(),
		entity: entityName,
		entityId: z.string(),
		field: z.string(),
		detectedBy: z.array(z.enum(['version', 'timestamp', 'field'])),
		strategy: z.enum(STRATEGIES),
		clientValue: z.unknown(),
		serverValue: z.unknown(),
		baseValue: z.unknown(),
		resolution: z.enum(['server_wins', 'client_wins', 'field_merge', 'pending_user']),
		finalState: z.record(z.string(), z.unknown()),
		clientAction: z.enum(['update_local', 'retry_sync', 'none', 'show_conflict_ui']),
		userNotification: UserNotificationSchema
	})
	.meta({ id: 'SyncConflict', description: "One conflicting field, resolved (the spec's ResolvedConflict)" });

export const PushResponseSchema = z
	.object({
		processed: z.array(ProcessedOperationSchema),
		conflicts: z.array(SyncConflictSchema),
		syncToken: z.string()
	})
	.meta({ id: 'PushResponse' });

export const PullQuerySchema = z.object({
	lastSyncToken: z.string().optional(),
	entities: z
		.string()
		.optional()
		.meta({ description: 'Comma-separated: customer,job,material (plurals accepted)' }),
	limit: z.coerce
		.number()
		.int()
		.min(1)
		.max(5000)
		.optional()
		.meta({ description: 'Changes + deletions per page; default 1000' }),
	deviceId: z.string().max(200).optional().meta({ description: 'Recorded as this device’s last sync' })
});

const entityData = z
	.record(z.string(), z.unknown())
	.meta({ description: 'The whole entity as the caller may see it, with version' });

export const EntityChangeSchema = z
	.object({
		entity: entityName,
		entityId: z.string(),
		operation: z.enum(['create', 'update']),
		data: entityData,
		version: z.number().int(),
		changedAt: z.number(),
		changedBy: z.string().nullable()
	})
	.meta({ id: 'EntityChange' });

export const EntityDeletionSchema = z
	.object({
		entity: entityName,
		entityId: z.string(),
		version: z.number().int(),
		deletedAt: z.number(),
		deletedBy: z.string().nullable(),
		data: entityData
	})
	.meta({ id: 'EntityDeletion' });

export const PullResponseSchema = z
	.object({
		changes: z.array(EntityChangeSchema),
		deletions: z.array(EntityDeletionSchema),
		syncToken: z.string(),
		hasMore: z.boolean()
	})
	.meta({ id: 'PullResponse' });

export const StatusResponseSchema = z
	.object({
		serverTime: z.number(),
		lastSync: z.object({ deviceId: z.string(), timestamp: z.number(), syncToken: z.string() }).optional()
	})
	.meta({ id: 'StatusResponse' });

export const ChecksumsResponseSchema = z
	.object({
		entity: entityName,
		checksums: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/))
	})
	.meta({
		id: 'ChecksumsResponse',
		description: 'sha256 hex of each visible entity’s canonical JSON, as pulled'
	});

export const HealthResponseSchema = z
	.object({
		successRate: z.number().min(0).max(1),
		averageDuration: z.number().nonnegative().meta({ description: 'milliseconds' }),
		conflictRate: z.number().min(0).max(1),
		dataVolume: z.number().nonnegative().meta({ description: 'bytes in the window' }),
		recommendations: z.array(z.string())
	})
	.meta({ id: 'SyncHealthReport' });

/** One point per interval, oldest first; rates 0..1, durations ms. */
const HealthPointSchema = z.object({
	at: z.number(),
	/** Null in an hour with edits over the websocket but no sync attempt. */
	successRate: z.number().min(0).max(1).nullable(),
	conflictRate: z.number().min(0).max(1),
	averageDuration: z.number().nonnegative().nullable()
});

export const HealthSeriesSchema = z.array(HealthPointSchema).meta({ id: 'HealthSeries' });

/** `lastSync` is epoch ms, or null if the device never synced. */
const DeviceSyncSchema = z.object({
	deviceId: z.string(),
	userId: z.string(),
	lastSync: z.number().nullable()
});

export const DevicesResponseSchema = z.array(DeviceSyncSchema).meta({ id: 'Devices' });

const UserRefSchema = z.object({ id: z.string(), name: z.string() });

/** A board card; times are epoch ms. A worker gets only their own jobs, and never a price. */
const BoardJobSchema = z.object({
	id: z.string(),
	title: z.string(),
	status: z.enum(JOB_STATUSES),
	customer: UserRefSchema.nullable(),
	assignedTo: z.array(UserRefSchema),
	scheduledStart: z.number().nullable(),
	scheduledEnd: z.number().nullable(),
	materials: z.object({ purchased: z.number().int(), total: z.number().int() }),
	updatedAt: z.number()
});

export const BoardResponseSchema = z.object({ jobs: z.array(BoardJobSchema) }).meta({ id: 'Board' });

const UserSchema = z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES) });

export const UsersResponseSchema = z.array(UserSchema).meta({ id: 'Users' });

/** `POST /api/auth/login` (server/http/routes-auth.ts). */
const LoginResponseSchema = z.object({ token: z.string(), user: UserSchema });

const CustomerSummarySchema = z.object({
	id: z.string(),
	name: z.string(),
	phone: z.string().optional(),
	email: z.string().optional(),
	address: z.string().optional(),
	updatedAt: z.number().optional()
});

export const CustomersResponseSchema = z.array(CustomerSummarySchema).meta({ id: 'Customers' });

export const ErrorResponseSchema = z.object({ error: OperationErrorSchema }).meta({ id: 'Error' });

// The read models as TypeScript types, for the server's readers and (type-only) the app.
export type UserRef = z.infer<typeof UserRefSchema>;
export type User = z.infer<typeof UserSchema>;
export type LoginResponse = z.infer<typeof LoginResponseSchema>;
export type BoardJob = z.infer<typeof BoardJobSchema>;
export type Board = z.infer<typeof BoardResponseSchema>;
export type CustomerSummary = z.infer<typeof CustomerSummarySchema>;
/** The spec's SyncHealthReport. */
export type SyncHealth = z.infer<typeof HealthResponseSchema>;
export type HealthPoint = z.infer<typeof HealthPointSchema>;
export type DeviceSync = z.infer<typeof DeviceSyncSchema>;
