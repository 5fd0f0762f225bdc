import { z } from 'zod';
import { ENTITY_NAMES } from '../../crdt/schema.ts';
import { NewUserRequestSchema, NewUserResponseSchema, TeamResponseSchema } from '../http/user-schemas.ts';
import {
	BoardResponseSchema,
	ChecksumsResponseSchema,
	CustomersResponseSchema,
	DevicesResponseSchema,
	ErrorResponseSchema,
	HealthResponseSchema,
	HealthSeriesSchema,
	PullQuerySchema,
	PullResponseSchema,
	PushRequestSchema,
	PushResponseSchema,
	StatusResponseSchema,
	UsersResponseSchema
} from './schemas.ts';

/**
 * `GET /api/openapi.json`, generated from the same zod schemas that validate requests and that tests
 * parse responses with: one source, never written twice (docs/rest-api.md).
 */
const inline = (s: z.ZodType) =>
	z.toJSONSchema(s, { target: 'openapi-3.0', unrepresentable: 'any', io: 'input' });
/** Named schemas (`.meta({id})`) become `components.schemas` and are referenced; others are inlined. */
const schema = (s: z.ZodType) => {
	const id = z.globalRegistry.get(s)?.id;
	return id ? { $ref: `#/components/schemas/${id}` } : inline(s);
};
const inputSchema = schema;
function componentSchemas(): unknown {
	return z.toJSONSchema(z.globalRegistry, {
		target: 'openapi-3.0',
		unrepresentable: 'any',
		uri: (id) => `#/components/schemas/${id}`
	}).schemas;
}

const json = (s: z.ZodType, description = 'OK') => ({
	description,
	content: { 'application/json': { schema: schema(s) } }
});
const errors = {
	'400': json(ErrorResponseSchema, 'Malformed request (field named in error.field)'),
	'401': json(ErrorResponseSchema, 'Missing, invalid or expired bearer token')
};
const bearer = [{ bearer: [] }];

function queryParams(s: z.ZodObject) {
	return Object.entries(s.shape).map(([name, field]) => ({
		name,
		in: 'query',
		required: false,
		schema: inline(field as z.ZodType)
	}));
}

const resyncDescription =
	'resync_required: lastSyncToken is older than the change log retention horizon (CHANGE_LOG_RETENTION_DAYS). ' +
	'Discard the local copy, pull from no token until hasMore is false, then continue from the returned token.';

let cached: unknown;

export function openApiDocument(): unknown {
	cached ??= {
		openapi: '3.0.3',
		info: {
			title: 'KHS Sync API',
			version: '1',
			description:
				'Push operations and pull a projected change log (docs/rest-api.md in the repository). Responses honour Accept-Encoding br/gzip; ' +
				'request bodies may be Content-Encoding br/gzip; bodies over 5 MB (after decompression) get 413.'
		},
		components: {
			schemas: componentSchemas(),
			securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }
		},
		security: bearer,
		paths: {
			'/api/sync/push': {
				post: {
					summary: 'Push operations; 2xx means durable, projected and pullable',
					requestBody: {
						required: true,
						content: { 'application/json': { schema: inputSchema(PushRequestSchema) } }
					},
					responses: {
						'200': json(PushResponseSchema),
						...errors,
						'413': json(ErrorResponseSchema, 'Body over 5 MB'),
						'503': json(
							ErrorResponseSchema,
							'`not_pullable`: committed but not yet pullable within the wait; `database_unavailable`: not stored within the wait (the database is away). Either way resend the same operations after Retry-After (idempotent by id)'
						)
					}
				}
			},
			'/api/sync/pull': {
				get: {
					summary: 'Changes and deletions after lastSyncToken, one page',
					parameters: queryParams(PullQuerySchema),
					responses: {
						'200': json(PullResponseSchema),
						...errors,
						'410': json(ErrorResponseSchema, resyncDescription)
					}
				}
			},
			'/api/sync/stream': {
				get: {
					summary:
						'Live change stream (Server-Sent Events): the pull feed, pushed. Same visibility and tokens as pull. ' +
						'`event: changes` (data: {changes, deletions, syncToken}; `id:` = that syncToken), `event: synced` once ' +
						'caught up, `event: resync_required` before the server ends a stream whose token fell behind retention. ' +
						'Resume after a disconnect with `Last-Event-ID: <last id>` (EventSource sends it), which wins over lastSyncToken.',
					parameters: [
						{ name: 'lastSyncToken', in: 'query', required: false, schema: { type: 'string' } },
						{
							name: 'entities',
							in: 'query',
							required: false,
							schema: { type: 'string' },
							description: 'comma-separated: customer, job, material'
						},
						{
							name: 'token',
							in: 'query',
							required: false,
							schema: { type: 'string' },
							description: 'bearer token, for EventSource (which cannot send headers)'
						},
						{ name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } }
					],
					responses: {
						'200': { description: 'text/event-stream' },
						...errors,
						'410': json(ErrorResponseSchema, resyncDescription)
					}
				}
			},
			'/api/sync/status': {
				get: {
					summary: 'Server time and the last sync of a device (?deviceId=) or of any of the caller’s devices',
					parameters: [{ name: 'deviceId', in: 'query', required: false, schema: { type: 'string' } }],
					responses: { '200': json(StatusResponseSchema), ...errors }
				}
			},
			'/api/sync/checksums/{entity}': {
				get: {
					summary: 'sha256 of each visible entity’s canonical JSON (keys sorted, no whitespace), as pulled',
					parameters: [
						{
							name: 'entity',
							in: 'path',
							required: true,
							schema: { type: 'string', enum: [...ENTITY_NAMES] }
						}
					],
					responses: { '200': json(ChecksumsResponseSchema), ...errors }
				}
			},
			'/api/sync/health': {
				get: {
					summary: 'SyncHealthReport over 24 h (owner)',
					responses: { '200': json(HealthResponseSchema), ...errors }
				}
			},
			'/api/sync/health/series': {
				get: {
					summary: 'Hourly health points (owner)',
					responses: { '200': json(HealthSeriesSchema), ...errors }
				}
			},
			'/api/sync/devices': {
				get: {
					summary: 'Last sync of every device (owner)',
					responses: { '200': json(DevicesResponseSchema), ...errors }
				}
			},
			'/api/board': {
				get: {
					summary: 'Job board (a worker: their jobs)',
					responses: { '200': json(BoardResponseSchema), ...errors }
				}
			},
			'/api/board/events': {
				get: {
					summary: 'Server-Sent Events: `event: change` whenever the board changed',
					parameters: [{ name: 'token', in: 'query', required: true, schema: { type: 'string' } }],
					responses: { '200': { description: 'text/event-stream' }, '401': errors['401'] }
				}
			},
			'/api/users': {
				get: { summary: 'Users: id, name, role', responses: { '200': json(UsersResponseSchema), ...errors } },
				post: {
					summary: 'Add a team member with a first password (owner; docs/server-rules.md TEAM-1…3)',
					requestBody: {
						required: true,
						content: { 'application/json': { schema: inputSchema(NewUserRequestSchema) } }
					},
					responses: {
						'201': json(NewUserResponseSchema, 'Created; the member can log in'),
						...errors,
						'403': json(ErrorResponseSchema, 'Not the owner'),
						'409': json(ErrorResponseSchema, '`email_taken`: a user with this email exists')
					}
				}
			},
			'/api/team': {
				get: {
					summary: 'Every team member with email and disabled flag (owner)',
					responses: {
						'200': json(TeamResponseSchema),
						...errors,
						'403': json(ErrorResponseSchema, 'Not the owner')
					}
				}
			},
			'/api/customers': {
				get: { summary: 'Visible customers', responses: { '200': json(CustomersResponseSchema), ...errors } }
			}
		}
	};
	return cached;
}
