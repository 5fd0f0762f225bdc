import type { AuthUser } from '../auth/roles.ts';
import type { Db } from '../db/port.ts';
import { HttpError } from '../http/errors.ts';
import { metrics } from '../metrics.ts';
import { syncDefaults } from './defaults.ts';
import { SyncError } from './errors.ts';
import { comparePositions, decodeToken, encodeToken, type FeedPosition, START_POSITION } from './tokens.ts';
import { type EntityName, visibleData, workerVisibleSql } from './visibility.ts';

/** docs/rest-api.md "Pull", Changes. */
export interface EntityChange {
	entity: EntityName;
	entityId: string;
	operation: 'create' | 'update';
	data: Record<string, unknown>;
	version: number;
	changedAt: number;
	changedBy: string | null;
}

/** docs/rest-api.md "Pull", Deletions: the last state in `data`. */
export interface EntityDeletion {
	entity: EntityName;
	entityId: string;
	version: number;
	deletedAt: number;
	deletedBy: string | null;
	data: Record<string, unknown>;
}

export interface PullPage {
	changes: EntityChange[];
	deletions: EntityDeletion[];
	syncToken: string;
	hasMore: boolean;
}

interface FeedRow {
	seq: number;
	txid: string;
	entity_type: EntityName;
	entity_id: string;
	operation: 'INSERT' | 'UPDATE' | 'DELETE' | 'REVEAL';
	user_id: string | null;
	version: number;
	data: Record<string, unknown>;
	changed_at: Date | string;
}

/**
 * Gapless reading of `change_log` (docs/architecture.md "Projection and change feed"). bigserial order is not commit order: a transaction can
 * take seq 10 and commit after another committed seq 11. So the feed is ordered by (txid, seq) and
 * reads only rows whose transaction is below `pg_snapshot_xmin(pg_current_snapshot())` — the oldest
 * transaction still running. Every transaction below it has finished, so no row can later appear
 * before the last one delivered; a still-running older transaction holds back everything after it
 * until it commits (or aborts). The token is the last (txid, seq) delivered.
 */
const FEED_SQL = (owner: boolean) => `
	SELECT c.seq, c.txid::text AS txid, c.entity_type, c.entity_id::text AS entity_id, c.operation,
	       c.user_id, c.version, c.data, c.changed_at
	FROM change_log c
	WHERE (c.txid, c.seq) > ($1::xid8, $2::bigint)
	  AND c.txid < pg_snapshot_xmin(pg_current_snapshot())
	  AND c.entity_type = ANY($3::text[])
	  ${owner ? '' : `AND ${workerVisibleSql('c', '$5::uuid')}`}
	ORDER BY c.txid, c.seq
	LIMIT $4`;

/**
 * 410 `resync_required` (FEED-4): the token is behind the retention horizon, so rows after it may be
 * gone and pulling on from it could silently skip changes. The way back is a full pull from no
 * token, which FEED-2 keeps complete.
 */
export class ResyncRequiredError extends HttpError {
	constructor() {
		super(
			410,
			'resync_required',
			'this sync token is older than the change log retention horizon; discard local copies and pull again without lastSyncToken (a full resync), then continue from the token it returns',
			'lastSyncToken'
		);
	}
}

const HORIZON_SQL = 'SELECT txid::text AS txid, seq FROM change_log_horizon';

/** The greatest feed position retention has deleted (FEED-3). */
export async function readHorizon(db: Db): Promise<{ txid: string; seq: number }> {
	const { rows } = await db.query<{ txid: string; seq: number }>(HORIZON_SQL);
	const row = rows[0];
	return row ? { txid: row.txid, seq: Number(row.seq) } : START_POSITION;
}

const isStart = (p: FeedPosition) => p.txid === START_POSITION.txid && p.seq === START_POSITION.seq;

/**
 * Where a read from `from` stands with retention (FEED-3, FEED-4). Call `before()` ahead of reading
 * the feed and `after()` once it is read:
 * - from no token: the horizon read BEFORE the feed becomes the floor of every token of this full
 *   pull — rows below it that retention deleted earlier are not needed (FEED-2), anything deleted
 *   later moves the horizon past the floor;
 * - from a token: the horizon read AFTER the feed must not be past both the token and its floor, or
 *   410. The horizon only moves forward, in the same commit as its DELETE, so a deletion that could
 *   have hidden a row from the read is visible to this later statement.
 */
export function horizonCheck(db: Db, from: FeedPosition) {
	return {
		async before(): Promise<FeedPosition['floor']> {
			if (!isStart(from)) return from.floor;
			const horizon = await readHorizon(db);
			return isStart({ ...horizon }) ? undefined : horizon;
		},
		async after(): Promise<void> {
			if (isStart(from)) return;
			const horizon = await readHorizon(db);
			const bound = from.floor && comparePositions(from.floor, from) > 0 ? from.floor : from;
			if (comparePositions(horizon, bound) > 0) {
				metrics.resyncRequired.inc();
				throw new ResyncRequiredError();
			}
		}
	};
}

export interface PullOptions {
	lastSyncToken?: string | undefined;
	entities?: readonly EntityName[] | undefined;
	limit?: number | undefined;
}

/**
 * One page of changes after `lastSyncToken`, visible to `user`, deduplicated per entity within the
 * page (the latest row wins, as the spec's `deduplicateChanges`). `limit` counts the log rows read,
 * so a page never holds more than `limit` changes plus deletions.
 */
export async function pullChanges(db: Db, user: AuthUser, options: PullOptions = {}): Promise<PullPage> {
	const from = decodeToken(options.lastSyncToken);
	const limit = Math.min(options.limit ?? syncDefaults.pullLimit, syncDefaults.pullLimitMax);
	const entities =
		options.entities && options.entities.length > 0 ? options.entities : ['customer', 'job', 'material'];
	const owner = user.role === 'OWNER';
	const params: unknown[] = [from.txid, from.seq, entities, limit + 1];
	if (!owner) params.push(user.id);
	const horizon = horizonCheck(db, from);
	const floor = await horizon.before();
	const { rows } = await db.query<FeedRow>(FEED_SQL(owner), params);
	await horizon.after();
	const hasMore = rows.length > limit;
	const page = hasMore ? rows.slice(0, limit) : rows;
	const last = page[page.length - 1];
	const position: FeedPosition = last
		? { txid: last.txid, seq: Number(last.seq), floor }
		: { ...from, floor };

	const latest = new Map<string, FeedRow>();
	for (const row of page) {
		const key = `${row.entity_type}:${row.entity_id}`;
		latest.delete(key); // re-insert so the map keeps the order of each entity's latest change
		latest.set(key, row);
	}
	const changes: EntityChange[] = [];
	const deletions: EntityDeletion[] = [];
	for (const row of latest.values()) {
		const data: Record<string, unknown> = visibleData(user, row.entity_type, {
			...row.data,
			version: row.version
		});
		const at = new Date(row.changed_at).getTime();
		const updatedAt = typeof data.updatedAt === 'number' ? data.updatedAt : at;
		if (row.operation === 'DELETE' || data.deleted === true) {
			deletions.push({
				entity: row.entity_type,
				entityId: row.entity_id,
				version: row.version,
				deletedAt: updatedAt,
				deletedBy: row.user_id,
				data
			});
		} else {
			changes.push({
				entity: row.entity_type,
				entityId: row.entity_id,
				operation: row.operation === 'INSERT' ? 'create' : 'update',
				data,
				version: row.version,
				changedAt: updatedAt,
				changedBy: row.user_id
			});
		}
	}
	return { changes, deletions, syncToken: encodeToken(position), hasMore };
}

/**
 * Resolves once transaction `txid` is below the feed's horizon, i.e. its rows are pullable — the
 * push path's read-your-writes. An older transaction still running (another instance's projection)
 * delays this; it is short, so we poll briefly, bounded by `timeoutMs` (default `visibleTimeoutMs`).
 * Past it: SyncError `not_pullable` — the push is committed, so the client may safely resend it
 * (idempotent by operation id) after Retry-After; the route answers 503.
 */
export async function waitPullable(
	db: Db,
	txid: string,
	options: { timeoutMs?: number | undefined } = {}
): Promise<void> {
	const timeoutMs = options.timeoutMs ?? syncDefaults.visibleTimeoutMs;
	const deadline = Date.now() + timeoutMs;
	for (let delayMs = 1; ; delayMs = Math.min(delayMs * 2, 50)) {
		const { rows } = await db.query<{ ok: boolean }>(
			'SELECT $1::xid8 < pg_snapshot_xmin(pg_current_snapshot()) AS ok',
			[txid]
		);
		if (rows[0]?.ok) return;
		if (Date.now() > deadline) {
			throw new SyncError(
				'not_pullable',
				`transaction ${txid} not pullable after ${timeoutMs} ms (an older transaction is still running); retry the push`,
				undefined,
				1
			);
		}
		await new Promise((resolve) => setTimeout(resolve, delayMs));
	}
}
