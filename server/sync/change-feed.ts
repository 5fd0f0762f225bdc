import { ENTITY_NAMES } from '../../crdt/schema.ts';
import type { AuthUser } from '../auth/roles.ts';
import type { Db } from '../db/port.ts';
import { HttpError } from '../http/errors.ts';
import { metrics } from '../metrics.ts';
import { syncDefaults } from './defaults.ts';
import { SyncError } from './errors.ts';
import { comparePositions, decodeToken, encodeToken, type FeedPosition, START_POSITION } from './tokens.ts';
import { type EntityName, visibleDataSql, workerVisibleSql } from './visibility.ts';

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
	/** `visibleData` as JSON text; with `version` in it already unless `splice` (see `dataJson`). */
	data: string;
	splice: boolean;
	/** A DELETE, or `deleted: true` in the data (stored with the row, migration 011). */
	deletion: boolean;
	/** `updatedAt` when it is a number, else `changed_at` as epoch ms: JSON number text. */
	at: string;
	/** The retention horizon, read in the same statement (one snapshot with the rows). */
	horizon_txid: string;
	horizon_seq: number;
}

/**
 * Gapless reading of `change_log` (docs/architecture.md "Projection and change feed"). bigserial order is not commit order: a transaction can
 * take seq 10 and commit after another committed seq 11. So the feed is ordered by (txid, seq) and
 * reads only rows whose transaction is below `pg_snapshot_xmin(pg_current_snapshot())` — the oldest
 * transaction still running. Every transaction below it has finished, so no row can later appear
 * before the last one delivered; a still-running older transaction holds back everything after it
 * until it commits (or aborts). The token is the last (txid, seq) delivered.
 *
 * `data` comes as text, never parsed nor stringified on the server (bench:api profile of a
 * 5,000-change page, 76 ms: pg's row parsing with `data`'s JSON.parse 17 ms, the page objects 4 ms,
 * `JSON.stringify` 7 ms, all on the event loop). The database applies `visibleData`; what needs the
 * jsonb (deletion, `updatedAt`) was computed when the row was written (migration 011: 9–10 ms of a
 * 26 ms page execution when read per pull); the rest of the page's text is put together here —
 * built entirely in SQL it cost Postgres ~11 ms more CPU a page than it saved the server (CPU of
 * both processes, same run).
 *
 * Shape (bench:api): when all three entities are asked for there is no `entity_type` filter at
 * all — with that filter, on a freshly filled change_log (no statistics yet) Postgres chose a bitmap
 * AND of the entity index and the order index and then SORTED every row after the cursor (65–150 ms
 * per page of 5,000 over 100,000 rows, instead of 3 ms reading change_log_order_idx in order). The
 * retention horizon comes in the same statement, so from the same snapshot as the rows (see
 * `horizonCheck`). The page's rows are chosen in a subquery, and only they are shaped (a plan
 * that sorted shaped every row after the cursor before sorting them; see `readFeed`).
 * Parameters: $1 txid, $2 seq, then the entity list (unless all), the worker (unless owner), the limit.
 */
const FEED_SQL = (user: AuthUser, allEntities: boolean) => {
	let n = 2;
	const entities = allEntities ? '' : `AND c.entity_type = ANY($${++n}::text[])`;
	const worker = user.role === 'OWNER' ? '' : `AND ${workerVisibleSql('c', `$${++n}::uuid`)}`;
	return `
	SELECT c.seq, c.txid::text AS txid, c.entity_type, c.entity_id::text AS entity_id, c.operation,
	       c.user_id, c.version, v.splice, c.deletion,
	       CASE WHEN v.splice THEN v.data::text
	            ELSE (v.data || jsonb_build_object('version', c.version))::text END AS data,
	       coalesce(c.updated_at_json, floor(extract(epoch FROM c.changed_at) * 1000)::bigint::text) AS at,
	       (SELECT h.txid::text FROM change_log_horizon h) AS horizon_txid,
	       (SELECT h.seq FROM change_log_horizon h) AS horizon_seq
	FROM (
	  SELECT c.seq, c.txid, c.entity_type, c.entity_id, c.operation, c.user_id, c.version, c.data,
	         c.deletion, c.updated_at_json, c.changed_at
	  FROM change_log c
	  WHERE (c.txid, c.seq) > ($1::xid8, $2::bigint)
	    AND c.txid < pg_snapshot_xmin(pg_current_snapshot())
	    ${entities}
	    ${worker}
	  ORDER BY c.txid, c.seq
	  LIMIT $${++n}
	) c
	CROSS JOIN LATERAL (
	  SELECT x.data,
	         jsonb_typeof(x.data) = 'object' AND x.data <> '{}'::jsonb AND NOT x.data ? 'version' AS splice
	  FROM (SELECT ${visibleDataSql(user, 'c.entity_type', 'c.data')} AS data) x
	) v
	ORDER BY c.txid, c.seq`;
};

/**
 * Runs the feed statement with sorting disabled (`SET LOCAL`: this transaction only), so Postgres
 * reads change_log_order_idx in order and stops at the limit, whatever it believes of the table.
 * Its estimate of the keyset condition is a fixed third of the table when change_log has no
 * statistics — a fresh or restored database until autovacuum's first analyze, and PGlite, which
 * has no autovacuum, always — and with it Postgres preferred to bitmap-scan every row after the
 * cursor and sort them (bench:api, 100,000 rows: an external merge sort of 29 MB, 118 ms a page,
 * against 16–19 ms in index order). The transaction is three more statements, on one connection.
 */
async function readFeed(db: Db, sql: string, params: unknown[]): Promise<FeedRow[]> {
	return db.transaction(async (tx) => {
		await tx.query('SET LOCAL enable_sort = off');
		return (await tx.query<FeedRow>(sql, params)).rows;
	});
}

/**
 * `{...data, version}` as JSON text. A non-empty object without `version` (every projected row) gets
 * it spliced in before its closing brace — jsonb's `||` per row cost Postgres about as much as
 * the text itself (psql, 100,000 rows); anything else came merged from the database.
 */
function dataJson(row: FeedRow): string {
	return row.splice ? `${row.data.slice(0, -1)}, "version": ${row.version}}` : row.data;
}

/**
 * Each entity's latest row of the page, in the order of those rows. Keyed per entity type by the
 * id as pg gave it, with no key built per row and nothing re-inserted: with a Map keyed
 * `${type}:${id}` and a delete and set per row, `pullPageJson` of 5,000 rows took 16.5–17.2 ms,
 * with this 13.5–16.3 (medians of 150 pages from a stub database, 3 alternating runs, 2026-12-03).
 */
function latestPerEntity(page: readonly FeedRow[]): FeedRow[] {
	const lastIndex = new Map<EntityName, Map<string, number>>();
	for (const [i, row] of page.entries()) {
		const ids = lastIndex.get(row.entity_type) ?? new Map<string, number>();
		if (ids.size === 0) lastIndex.set(row.entity_type, ids);
		ids.set(row.entity_id, i);
	}
	return page.filter((row, i) => lastIndex.get(row.entity_type)?.get(row.entity_id) === i);
}

/** One row as the page's JSON shows it: an EntityChange, or an EntityDeletion. */
function itemJson(row: FeedRow): string {
	const by = row.user_id === null ? 'null' : JSON.stringify(row.user_id);
	const head = `{"entity":"${row.entity_type}","entityId":"${row.entity_id}",`;
	const tail = `,"version":${row.version},"data":${dataJson(row)}}`;
	if (row.deletion) return `${head}"deletedAt":${row.at},"deletedBy":${by}${tail}`;
	const operation = row.operation === 'INSERT' ? 'create' : 'update';
	return `${head}"operation":"${operation}","changedAt":${row.at},"changedBy":${by}${tail}`;
}

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
 * Where a read from `from` stands with retention (FEED-3, FEED-4), given the horizon read in the
 * SAME snapshot as the feed rows (one statement, FEED_SQL):
 * - from no token: that horizon becomes the floor of every token of this full pull — rows below it
 *   that retention deleted before the snapshot are not needed (FEED-2), anything deleted after it
 *   moves the horizon past the floor, which a later page's check sees;
 * - from a token: the horizon must not be past both the token and its floor, or 410. The horizon
 *   moves in the same commit as its DELETE, so one snapshot holds either the deleted rows or the
 *   moved horizon, never neither — the guarantee a separate read after the feed gives, without
 *   its round trip.
 * Returns the floor for the page's token.
 */
export function horizonCheck(
	from: FeedPosition,
	horizon: { txid: string; seq: number }
): FeedPosition['floor'] {
	if (isStart(from)) return isStart({ ...horizon }) ? undefined : horizon;
	const bound = from.floor && comparePositions(from.floor, from) > 0 ? from.floor : from;
	if (comparePositions(horizon, bound) > 0) {
		metrics.resyncRequired.inc();
		throw new ResyncRequiredError();
	}
	return from.floor;
}

export interface PullOptions {
	lastSyncToken?: string | undefined;
	entities?: readonly EntityName[] | undefined;
	limit?: number | undefined;
}

/** A pull page as the route sends it: its JSON text (the `PullPage` shape), and what the route records. */
export interface PullPageJson {
	/** The whole page, `{changes, deletions, syncToken, hasMore}`, as the pull route answers it. */
	json: string;
	/**
	 * The page's `"changes":[…],"deletions":[…]` members, for a body of another shape (the stream's
	 * events). One line: jsonb text and JSON.stringify escape every newline.
	 */
	itemsJson: string;
	/** How many changes plus deletions the page holds. */
	itemCount: number;
	syncToken: string;
	hasMore: boolean;
}

/**
 * One page of changes after `lastSyncToken`, visible to `user`, deduplicated per entity within the
 * page (the latest row wins, as the spec's `deduplicateChanges`), as JSON text. `limit` counts the
 * log rows read, so a page never holds more than `limit` changes plus deletions.
 */
export async function pullPageJson(db: Db, user: AuthUser, options: PullOptions = {}): Promise<PullPageJson> {
	const from = decodeToken(options.lastSyncToken);
	const limit = Math.min(options.limit ?? syncDefaults.pullLimit, syncDefaults.pullLimitMax);
	const entities =
		options.entities && options.entities.length > 0 ? options.entities : ['customer', 'job', 'material'];
	const allEntities = ENTITY_NAMES.every((e) => entities.includes(e));
	const params: unknown[] = [from.txid, from.seq];
	if (!allEntities) params.push(entities);
	if (user.role !== 'OWNER') params.push(user.id);
	params.push(limit + 1);
	const rows = await readFeed(db, FEED_SQL(user, allEntities), params);
	const first = rows[0];
	// No row: the horizon did not come with one; read it on its own (after the feed, FEED-3).
	const horizon = first
		? { txid: first.horizon_txid, seq: Number(first.horizon_seq) }
		: await readHorizon(db);
	const floor = horizonCheck(from, horizon);
	const hasMore = rows.length > limit;
	const page = hasMore ? rows.slice(0, limit) : rows;
	const last = page[page.length - 1];
	const position: FeedPosition = last
		? { txid: last.txid, seq: Number(last.seq), floor }
		: { ...from, floor };

	const changes: string[] = [];
	const deletions: string[] = [];
	for (const row of latestPerEntity(page)) (row.deletion ? deletions : changes).push(itemJson(row));
	const syncToken = encodeToken(position);
	const itemsJson = `"changes":[${changes.join(',')}],"deletions":[${deletions.join(',')}]`;
	return {
		json: `{${itemsJson},"syncToken":${JSON.stringify(syncToken)},"hasMore":${hasMore}}`,
		itemsJson,
		itemCount: changes.length + deletions.length,
		syncToken,
		hasMore
	};
}

/** `pullPageJson` as objects (tests, in-process readers). */
export async function pullChanges(db: Db, user: AuthUser, options: PullOptions = {}): Promise<PullPage> {
	return JSON.parse((await pullPageJson(db, user, options)).json) as PullPage;
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
