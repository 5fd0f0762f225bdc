/**
 * The HTTP contract this app codes against: the types are inferred from the server's zod schemas
 * (server/sync/schemas.ts, which also validate the responses in tests and document them in
 * `GET /api/openapi.json`), imported type-only so no server code reaches the bundle. Times are epoch
 * milliseconds.
 *
 * - `GET /api/board` → `Board` (`{ jobs: BoardJob[] }`); a worker gets only their own jobs.
 * - `GET /api/customers` → `CustomerSummary[]`; `GET /api/users` → `User[]`.
 * - `GET /api/sync/health` (owner) → `SyncHealth`, the spec's SyncHealthReport (rates 0..1, ms).
 * - `GET /api/sync/health/series` (owner) → `HealthPoint[]`, oldest first; a null rate is an hour
 *   with edits but no sync attempt.
 * - `GET /api/sync/devices` (owner) → `DeviceSync[]`; `lastSync` null if the device never synced.
 */
export type {
	Board,
	BoardJob,
	CustomerSummary,
	DeviceSync,
	HealthPoint,
	LoginResponse,
	SyncHealth,
	User,
	UserRef
} from '../../../server/sync/schemas.ts';
