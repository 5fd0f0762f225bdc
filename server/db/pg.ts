import pg from 'pg';
import { DbError } from './errors.ts';
import { InFlight } from './in-flight.ts';
import type { Db, QueryResult, Tx } from './port.ts';
import { parseInt8, toPlainBytes } from './values.ts';

/** Defaults of the pg adapter. */
export const pgDefaults = {
	/** Pool size. Group commit (server/docs/store.ts) keeps the write path to ~1 connection. */
	maxConnections: 10,
	/** Give up connecting after this long, so a dead database fails start-up instead of hanging. */
	connectTimeoutMs: 5_000,
	/** Idle connections are closed after this long. */
	idleTimeoutMs: 30_000,
	/**
	 * A query with no answer after this long fails and its connection is dropped. Without it, a query
	 * sent into a network partition (packets silently dropped) waited forever, and the update log's
	 * group commit behind it never resumed after the network healed (fault suite, partition to
	 * Postgres). Far above any query of ours (the slowest, a compaction, takes well under a second).
	 */
	queryTimeoutMs: 15_000,
	/** TCP keepalive on every connection, so the OS notices a dead peer on an idle connection too. */
	keepAliveInitialDelayMs: 10_000
} as const;

export interface PgDbOptions {
	/** `postgres://user@host:port/db`. */
	connectionString: string;
	/**
	 * Schema to work in: created if missing and set as the only `search_path` entry on every pooled
	 * connection. Tests use a random schema per suite for isolation (see `testing.ts`).
	 */
	schema?: string;
	/** Pool size; default `pgDefaults.maxConnections`. */
	max?: number;
}

const OID = { int8: 20, bytea: 17, int8Array: 1016, byteaArray: 1001 } as const;

/**
 * Per-pool type parsers (never the global `pg.types`, which other code in the process may rely on):
 * int8 and bytea the same as PGlite returns them, see `values.ts`.
 */
const types = {
	getTypeParser(oid: number, format?: 'text' | 'binary') {
		const fallback = pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
		switch (oid) {
			case OID.int8:
				return parseInt8;
			case OID.int8Array:
				return (value: string) =>
					(fallback(value) as (string | null)[]).map((v) => (v === null ? null : parseInt8(v)));
			case OID.bytea:
				return (value: string) => toPlainBytes(fallback(value) as Buffer);
			case OID.byteaArray:
				return (value: string) =>
					(fallback(value) as (Buffer | null)[]).map((v) => (v === null ? null : toPlainBytes(v)));
			default:
				return fallback;
		}
	}
};

/** Only plain identifiers: the name is spliced into `-c search_path=` and DDL. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens a pooled Postgres adapter and checks it can reach the database (rejects with
 * `DbError('CONNECT_FAILED')` otherwise, so a misconfigured start-up or test fails loudly).
 */
export async function openPgDb(options: PgDbOptions): Promise<Db> {
	const { connectionString, schema } = options;
	if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
		throw new DbError('BAD_SCHEMA', `schema name must match ${SCHEMA_NAME}: ${JSON.stringify(schema)}`);
	}
	if (schema !== undefined) await createSchema(connectionString, schema);
	const pool = new pg.Pool({
		connectionString,
		max: options.max ?? pgDefaults.maxConnections,
		connectionTimeoutMillis: pgDefaults.connectTimeoutMs,
		idleTimeoutMillis: pgDefaults.idleTimeoutMs,
		query_timeout: pgDefaults.queryTimeoutMs,
		keepAlive: true,
		keepAliveInitialDelayMillis: pgDefaults.keepAliveInitialDelayMs,
		// `options` is sent in the startup packet, so every connection the pool ever opens — including
		// ones re-opened after a failover — has the schema; a `SET` after connect could be missed.
		...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
		types
	});
	// An idle client losing its connection emits 'error' on the pool; unhandled, that would crash the
	// process. The pool drops the client; the next query opens a new one.
	pool.on('error', () => {});
	const db = new PgDb(pool);
	try {
		await db.query('SELECT 1');
	} catch (error) {
		await pool.end().catch(() => {});
		throw new DbError('CONNECT_FAILED', `cannot reach Postgres: ${(error as Error).message}`, {
			cause: error
		});
	}
	return db;
}

async function createSchema(connectionString: string, schema: string): Promise<void> {
	const client = new pg.Client({ connectionString, connectionTimeoutMillis: pgDefaults.connectTimeoutMs });
	// A socket failure also rejects the pending call; unheard, pg's 'error' event would crash the process.
	client.on('error', () => {});
	try {
		await client.connect();
		await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
	} catch (error) {
		// Two suites creating the same schema at once can still race on the catalog; the other won.
		if ((error as { code?: string }).code !== '23505') {
			throw new DbError('CONNECT_FAILED', `cannot create schema ${schema}: ${(error as Error).message}`, {
				cause: error
			});
		}
	} finally {
		await client.end().catch(() => {});
	}
}

/** pg's client-side `query_timeout` (pgDefaults.queryTimeoutMs) fired. */
function isQueryTimeout(error: unknown): boolean {
	return error instanceof Error && error.message === 'Query read timeout';
}

/** Socket-level failures (Node's errno codes): the database is away, not the statement wrong. */
const SOCKET_ERRORS = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'EPIPE',
	'ETIMEDOUT',
	'EHOSTUNREACH',
	'ENOTFOUND'
]);
/** pg's own messages for a connection that is gone or never came. */
const CONNECTION_MESSAGES = [
	'Connection terminated',
	'timeout exceeded when trying to connect',
	'Query read timeout',
	'is not queryable'
];

/**
 * Whether `error` means the database cannot be reached now (an outage, restart or partition), as
 * opposed to a statement it refused: SQLSTATE class 08 (connection exception), 57P01–57P03 (shut
 * down, crashed, starting), 53300 (too many connections), a socket error or pg's own timeouts.
 */
export function isConnectionError(error: unknown): boolean {
	if (!(error instanceof Error)) return false;
	const code = (error as { code?: unknown }).code;
	if (typeof code === 'string') {
		if (SOCKET_ERRORS.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300') {
			return true;
		}
	}
	return CONNECTION_MESSAGES.some((m) => error.message.includes(m));
}

/** A connection failure becomes `DbError('UNAVAILABLE')` (HTTP 503, callers retry); others pass as they are. */
function asUnavailable(error: unknown): unknown {
	if (!isConnectionError(error)) return error;
	return new DbError('UNAVAILABLE', `Postgres unavailable: ${(error as Error).message}`, { cause: error });
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

async function run<Row>(on: Queryable, sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
	// Without params pg uses the simple protocol, which allows several statements (migrations rely
	// on it) and returns one result per statement; we return the last, as PGlite's adapter does.
	const result = (await on.query(
		sql,
		params === undefined || params.length === 0 ? undefined : [...params]
	)) as pg.QueryResult | pg.QueryResult[];
	const last = Array.isArray(result) ? result[result.length - 1] : result;
	return { rows: (last?.rows ?? []) as Row[], rowCount: last?.rowCount ?? 0 };
}

class PgDb implements Db {
	readonly kind = 'pg' as const;
	readonly #inFlight = new InFlight();

	constructor(readonly pool: pg.Pool) {}

	query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
		return this.#track(() => run<Row>(this.pool, sql, params));
	}

	transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
		return this.#track(() => this.#transaction(work));
	}

	/** Tracked until it settles; a connection failure surfaces as `DbError('UNAVAILABLE')`. */
	#track<T>(call: () => Promise<T>): Promise<T> {
		return this.#inFlight.track(() =>
			call().catch((error: unknown) => {
				throw asUnavailable(error);
			})
		);
	}

	async #transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
		const client = await this.pool.connect();
		let done = false;
		const tx: Tx = {
			query: <Row>(sql: string, params?: readonly unknown[]) => {
				if (done) return Promise.reject(new DbError('TX_CLOSED', 'transaction already finished'));
				return run<Row>(client, sql, params);
			}
		};
		let releaseError: Error | undefined;
		// A checked-out client has no pool 'error' listener, and pg emits 'error' on the client when its
		// socket fails, even between queries: unheard, that killed the process (fault suite, partition to
		// Postgres healed with a reset, mid-compaction). The failed query rejects on its own; the broken
		// connection is destroyed on release.
		const onSocketError = (error: Error) => {
			releaseError ??= error;
		};
		client.on('error', onSocketError);
		try {
			await client.query('BEGIN');
			const value = await work(tx);
			await client.query('COMMIT');
			return value;
		} catch (error) {
			if (isQueryTimeout(error)) {
				// No answer on this connection (a partition): a ROLLBACK would wait as long again. Dropping
				// the connection ends the transaction on the server (it rolls back on disconnect).
				releaseError = error as Error;
				throw error;
			}
			try {
				await client.query('ROLLBACK');
			} catch (rollbackError) {
				// The connection is broken; destroy it rather than return it to the pool mid-transaction.
				releaseError = rollbackError as Error;
			}
			throw error;
		} finally {
			done = true;
			client.off('error', onSocketError);
			client.release(releaseError);
		}
	}

	close(): Promise<void> {
		return this.#inFlight.close(() => this.pool.end());
	}
}
