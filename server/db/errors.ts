/** Why a storage call failed, stable for callers and logs (the message is for humans). */
export type DbErrorCode =
	/** The adapter was closed; no further statements run. */
	| 'CLOSED'
	/** A `Tx` was used after its transaction committed or rolled back. */
	| 'TX_CLOSED'
	/** The database could not be reached or opened. */
	| 'CONNECT_FAILED'
	/**
	 * The database cannot serve now but is expected back (PGlite: its instance was lost, e.g. to a
	 * full disk, and is being reopened). Retry later; HTTP answers 503 `database_unavailable`.
	 */
	| 'UNAVAILABLE'
	/** A schema name that is not a plain lower-case identifier. */
	| 'BAD_SCHEMA'
	/** A migration file is misnamed, duplicated, or was edited after it was applied. */
	| 'MIGRATION_INVALID'
	/** A migration's SQL failed; its transaction was rolled back. */
	| 'MIGRATION_FAILED';

/** Typed error of the SQL port and its adapters. The driver's own error, if any, is `cause`. */
export class DbError extends Error {
	override readonly name = 'DbError';
	constructor(
		readonly code: DbErrorCode,
		message: string,
		options?: { cause?: unknown }
	) {
		super(message, options);
	}
}
