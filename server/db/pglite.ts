import { mkdir } from 'node:fs/promises';
import { PGlite, type Results, type Transaction } from '@electric-sql/pglite';
import { DbError } from './errors.ts';
import { InFlight } from './in-flight.ts';
import type { Db, QueryResult, Tx } from './port.ts';

export interface PgliteDbOptions {
	/**
	 * Directory of the database files, created on first open and reused after. Omitted → in-memory.
	 * One process at a time: PGlite is a single embedded backend, not a server.
	 */
	dataDir?: string;
}

/**
 * Opens PGlite directly (never through pglite-socket, see docs/pitfalls.md "PGlite").
 *
 * PGlite is ONE connection. Its own `transaction()` and `query()` both run under one internal
 * mutex (`_runExclusiveTransaction`, checked in 0.5.16's source and by the contract test
 * "concurrent transactions do not interleave"), so a `query` from another caller queues behind an
 * open transaction instead of running inside it. The flip side: calling `db.query` / `db.transaction`
 * from INSIDE a transaction's `work` (instead of the handed `tx`) waits for itself forever. Use `tx`.
 *
 * Types: bytea → Uint8Array, int8 → number when safe else bigint — natively, matching the pg adapter.
 */
export async function openPgliteDb(options: PgliteDbOptions = {}): Promise<Db> {
	try {
		if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
		const pglite = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
		return new PgliteDb(pglite);
	} catch (error) {
		throw new DbError('CONNECT_FAILED', `cannot open PGlite: ${(error as Error).message}`, { cause: error });
	}
}

type Runner = Pick<PGlite, 'query' | 'exec'> | Pick<Transaction, 'query' | 'exec'>;

async function run<Row>(on: Runner, sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
	if (params === undefined || params.length === 0) {
		// Like pg's simple protocol: several statements allowed (migrations), last result returned.
		const results = (await on.exec(sql)) as Results<Row>[];
		const last = results[results.length - 1];
		return { rows: last?.rows ?? [], rowCount: last?.affectedRows ?? 0 };
	}
	const result = await on.query<Row>(sql, [...params]);
	return { rows: result.rows, rowCount: result.affectedRows ?? 0 };
}

class PgliteDb implements Db {
	readonly kind = 'pglite' as const;
	readonly #inFlight = new InFlight();

	constructor(readonly pglite: PGlite) {}

	query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
		return this.#inFlight.track(() => run<Row>(this.pglite, sql, params));
	}

	transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
		return this.#inFlight.track(() =>
			this.pglite.transaction(async (inner) => {
				let done = false;
				const tx: Tx = {
					query: <Row>(sql: string, params?: readonly unknown[]) => {
						if (done) return Promise.reject(new DbError('TX_CLOSED', 'transaction already finished'));
						return run<Row>(inner, sql, params);
					}
				};
				try {
					return await work(tx);
				} finally {
					done = true;
				}
			})
		);
	}

	close(): Promise<void> {
		return this.#inFlight.close(() => this.pglite.close());
	}
}
