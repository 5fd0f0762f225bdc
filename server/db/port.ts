/**
 * The one narrow SQL port every server subsystem talks to. Two adapters implement it:
 * `pg` (a real Postgres pool) and PGlite (embedded, used directly, never through a socket shim:
 * see docs/pitfalls.md "PGlite"). Everything above this port (migrations, document store, auth,
 * projection) is written once and runs on both; `server/db/contract.ts` is the suite both pass.
 */
export interface Db {
	/** Which adapter this is, for logs and for the few places the engines differ. */
	readonly kind: 'pg' | 'pglite';
	/** Runs one statement with `$1…` parameters outside any transaction. */
	query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
	/**
	 * Runs `work` inside BEGIN … COMMIT on one connection; rolls back and rethrows when it throws.
	 * Statements issued through the handed `Tx` see the transaction; others do not.
	 */
	transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
	/** Releases every connection; later calls reject. */
	close(): Promise<void>;
}

/** A transaction-scoped handle: the same `query` as `Db`, bound to one open transaction. */
export interface Tx {
	query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

export interface QueryResult<Row> {
	rows: Row[];
	/** Rows inserted, updated or deleted by the statement (0 for plain selects on PGlite). */
	rowCount: number;
}
