import { mkdir, statfs } from 'node:fs/promises';
import { PGlite, type Results } from '@electric-sql/pglite';
import type { Logger } from 'pino';
import { DbError } from './errors.ts';
import { InFlight } from './in-flight.ts';
import type { Db, QueryResult, Tx } from './port.ts';

/** Tunables of the PGlite adapter. */
export interface PgliteSettings {
	/** Wait before the second attempt to reopen a lost instance (the first runs at once). */
	reopenFirstDelayMs: number;
	/** Longest wait between reopen attempts that failed. */
	reopenMaxDelayMs: number;
	/**
	 * A lost instance is reopened only once its filesystem has this much room: one 16 MB WAL segment
	 * (PGlite's `wal_segment_size`) plus as much for tables; below that the next write meets ENOSPC.
	 */
	reopenMinFreeBytes: number;
	/** How often free space is checked while waiting for it: writes resume within about this. */
	spaceCheckEveryMs: number;
}

/** Defaults of the PGlite adapter. */
export const pgliteDefaults: Readonly<PgliteSettings> = {
	reopenFirstDelayMs: 250,
	reopenMaxDelayMs: 2_000,
	reopenMinFreeBytes: 32 * 1024 * 1024,
	spaceCheckEveryMs: 250
};

/** What the adapter reports about its instance, for the server's log. */
export interface PgliteEvents {
	/** The instance was given up (`reason`); every call answers `DbError('UNAVAILABLE')` until reopened. */
	lost?(info: { reason: string }): void;
	/** The filesystem has less room than `reopenMinFreeBytes`: no reopen until it has (once per loss). */
	waitingForSpace?(info: { freeBytes: number; needBytes: number }): void;
	/** An attempt to reopen failed; another follows. */
	reopenFailed?(info: { attempt: number; reason: string; nextInMs: number }): void;
	/** A fresh instance replayed the WAL and serves again. */
	reopened?(info: { attempts: number; downMs: number }): void;
}

/** The adapter's events as log lines; reopen failures at attempts 1, 2, 4, 8…, so a long outage stays readable. */
export function loggedPgliteEvents(logger: Pick<Logger, 'info' | 'warn' | 'error'>): PgliteEvents {
	return {
		lost: ({ reason }) =>
			logger.error({ reason }, 'embedded database lost (its instance cannot be trusted): reopening it'),
		waitingForSpace: ({ freeBytes, needBytes }) =>
			logger.warn({ freeBytes, needBytes }, 'embedded database: disk full, reopening once space returns'),
		reopenFailed: ({ attempt, reason, nextInMs }) => {
			if ((attempt & (attempt - 1)) === 0)
				logger.warn({ attempt, reason, nextInMs }, 'embedded database: reopen failed, retrying');
		},
		reopened: ({ attempts, downMs }) => logger.info({ attempts, downMs }, 'embedded database reopened')
	};
}

export interface PgliteDbOptions extends Partial<PgliteSettings> {
	/**
	 * Directory of the database files, created on first open and reused after. Omitted → in-memory
	 * (a lost in-memory instance cannot be reopened: the adapter then stays unavailable).
	 * One process at a time: PGlite is a single embedded backend, not a server.
	 */
	dataDir?: string;
	events?: PgliteEvents;
}

/**
 * Why `error` means the PGlite instance that raised it must never run another statement, or
 * undefined for an ordinary statement error (syntax, constraint, …) after which it is fine.
 *
 * Measured on 0.5.16 with DATA_DIR on a full tmpfs (docs/pitfalls.md "PGlite"): a WAL segment
 * that cannot be created is a PANIC, and the next statement on that instance never returns,
 * blocking the whole event loop; a failed CHECKPOINT is a mere ERROR, after which the instance
 * answers later commits with "ok" that a reopen shows were never written, or with
 * ERRORDATA_STACK_SIZE exceeded. Real Postgres would restart its backend here; PGlite cannot, so
 * the adapter drops the instance (like a crash: the WAL on disk holds everything committed) and
 * opens a new one. Disk full is included even for the harmless "could not extend file": from
 * outside a failed checkpoint and a failed extend look the same, and a reopen costs ~0.4 s.
 */
export function lostInstanceReason(error: unknown): string | undefined {
	if (error instanceof WebAssembly.RuntimeError) return `WASM abort: ${error.message}`;
	const e = error as { severity?: unknown; code?: unknown; message?: unknown } | null;
	if (!e || typeof e !== 'object') return undefined;
	const message = String(e.message ?? '');
	const code = typeof e.code === 'string' ? e.code : '';
	if (e.severity === 'PANIC' || e.severity === 'FATAL') return `${e.severity} ${code}: ${message}`;
	// 53100 disk_full; 58xxx system errors (I/O); XX001/XX002 data or index corrupted.
	if (code === '53100' || code.startsWith('58') || code === 'XX001' || code === 'XX002')
		return `${code}: ${message}`;
	if (/ERRORDATA_STACK_SIZE exceeded|^Aborted\(/.test(message)) return message;
	return undefined;
}

/**
 * Opens PGlite directly (never through pglite-socket, see docs/pitfalls.md "PGlite").
 *
 * PGlite is ONE connection. The adapter runs one call at a time itself (a query, or a whole
 * transaction from BEGIN to COMMIT), so no other statement waits inside PGlite's own queue: when
 * an instance is lost (`lostInstanceReason`) nothing more reaches it. Calls then fail with
 * `DbError('UNAVAILABLE')` at once (callers retry: persistence's appends, a REST client on 503)
 * while the adapter waits for free space and reopens the data directory in the background.
 * Calling `db.query` / `db.transaction` from INSIDE a transaction's `work` (instead of the handed
 * `tx`) waits for itself forever. Use `tx`.
 *
 * Types: bytea → Uint8Array, int8 → number when safe else bigint — natively, matching the pg adapter.
 */
export async function openPgliteDb(options: PgliteDbOptions = {}): Promise<Db> {
	try {
		if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
		const pglite = await createInstance(options.dataDir);
		return new PgliteDb(pglite, options);
	} catch (error) {
		throw new DbError('CONNECT_FAILED', `cannot open PGlite: ${(error as Error).message}`, { cause: error });
	}
}

function createInstance(dataDir: string | undefined): Promise<PGlite> {
	return PGlite.create(dataDir === undefined ? {} : { dataDir });
}

type Runner = Pick<PGlite, 'query' | 'exec'>;

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
	readonly #settings: PgliteSettings;
	readonly #dataDir: string | undefined;
	readonly #events: PgliteEvents;
	/** The live instance; undefined while it is lost and not yet reopened. */
	#instance: PGlite | undefined;
	#lostReason = '';
	#lostAt = 0;
	/** Tail of the one-call-at-a-time chain. */
	#tail: Promise<unknown> = Promise.resolve();
	#reopening: Promise<void> | undefined;
	#closed = false;

	constructor(pglite: PGlite, options: PgliteDbOptions) {
		this.#instance = pglite;
		this.#settings = { ...pgliteDefaults, ...options };
		this.#dataDir = options.dataDir;
		this.#events = options.events ?? {};
	}

	/** The live instance (backup reads it); throws `DbError('UNAVAILABLE')` while it is lost. */
	get pglite(): PGlite {
		return this.#live();
	}

	query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
		return this.exclusive((pglite) => run<Row>(pglite, sql, params));
	}

	transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
		return this.exclusive(async (pglite) => {
			let done = false;
			const tx: Tx = {
				query: <Row>(sql: string, params?: readonly unknown[]) => {
					if (done) return Promise.reject(new DbError('TX_CLOSED', 'transaction already finished'));
					if (this.#instance !== pglite) return Promise.reject(this.#unavailable());
					return this.#guard(pglite, () => run<Row>(pglite, sql, params));
				}
			};
			// BEGIN/COMMIT by hand rather than `pglite.transaction()`: that one sends ROLLBACK after a
			// failed statement, which on a lost instance never returns.
			await this.#guard(pglite, () => pglite.exec('BEGIN'));
			try {
				const value = await work(tx);
				await this.#guard(pglite, () => pglite.exec('COMMIT'));
				return value;
			} catch (error) {
				// The original error is what the caller needs; a failing ROLLBACK is handled by #guard.
				if (this.#instance === pglite)
					await this.#guard(pglite, () => pglite.exec('ROLLBACK')).catch(() => {});
				throw error;
			} finally {
				done = true;
			}
		});
	}

	/**
	 * Runs `work` with the live instance while no other call of this adapter runs (so nothing else
	 * is queued inside PGlite). Errors that lose the instance become `DbError('UNAVAILABLE')` and
	 * start a reopen. For what needs PGlite itself (backup's `dumpDataDir`); use the handed instance
	 * only until `work` settles.
	 */
	exclusive<T>(work: (pglite: PGlite) => Promise<T>): Promise<T> {
		return this.#inFlight.track(() => {
			const result = this.#tail.then(() => {
				const pglite = this.#live();
				return this.#guard(pglite, () => work(pglite));
			});
			this.#tail = result.catch(() => {});
			return result;
		});
	}

	close(): Promise<void> {
		return this.#inFlight.close(async () => {
			this.#closed = true;
			await this.#reopening;
			const pglite = this.#instance;
			this.#instance = undefined;
			// A lost instance is never closed: its shutdown checkpoint is one more statement on it.
			if (pglite) await pglite.close();
		});
	}

	#live(): PGlite {
		if (!this.#instance) throw this.#unavailable();
		return this.#instance;
	}

	#unavailable(cause?: unknown): DbError {
		const since = Math.round(performance.now() - this.#lostAt);
		return new DbError(
			'UNAVAILABLE',
			`embedded database unavailable for ${since} ms (${this.#lostReason}); reopening it`,
			cause === undefined ? undefined : { cause }
		);
	}

	/** Runs one call on `pglite`; if its error loses the instance, drops it and starts a reopen. */
	async #guard<T>(pglite: PGlite, call: () => Promise<T>): Promise<T> {
		try {
			return await call();
		} catch (error) {
			const reason = this.#instance === pglite ? lostInstanceReason(error) : undefined;
			if (reason === undefined) {
				if (this.#instance !== pglite && !(error instanceof DbError)) throw this.#unavailable(error);
				throw error;
			}
			this.#lose(reason);
			throw this.#unavailable(error);
		}
	}

	#lose(reason: string): void {
		this.#instance = undefined;
		this.#lostReason = reason;
		this.#lostAt = performance.now();
		this.#events.lost?.({ reason });
		if (this.#dataDir === undefined) return; // in-memory: nothing on disk to reopen
		this.#reopening = this.#reopen();
	}

	async #reopen(): Promise<void> {
		const dataDir = this.#dataDir as string;
		let delayMs = this.#settings.reopenFirstDelayMs;
		let announced = false;
		for (let attempt = 1; !this.#closed; ) {
			// Opening on a disk that is still full "works" and fails again at the next write, each open
			// blocking the event loop for 0.4-1.5 s (measured in the disk-full scenario: 50 reopens in
			// 30 s). Wait for room first: a condition polled, not a guess.
			const freeBytes = await freeBytesOf(dataDir);
			if (freeBytes < this.#settings.reopenMinFreeBytes) {
				if (!announced)
					this.#events.waitingForSpace?.({ freeBytes, needBytes: this.#settings.reopenMinFreeBytes });
				announced = true;
				await new Promise((resolve) => setTimeout(resolve, this.#settings.spaceCheckEveryMs));
				continue;
			}
			try {
				const pglite = await createInstance(dataDir);
				if (this.#closed) {
					await pglite.close();
					return;
				}
				this.#instance = pglite;
				this.#reopening = undefined;
				this.#events.reopened?.({ attempts: attempt, downMs: Math.round(performance.now() - this.#lostAt) });
				return;
			} catch (error) {
				// Opening replays the WAL and checkpoints; where that fails (~0.4 s), try again later.
				this.#events.reopenFailed?.({ attempt, reason: (error as Error).message, nextInMs: delayMs });
				// Backoff between attempts, not a wait standing in for a condition.
				await new Promise((resolve) => setTimeout(resolve, delayMs));
				delayMs = Math.min(delayMs * 2, this.#settings.reopenMaxDelayMs);
				attempt++;
			}
		}
	}
}

/** Bytes an unprivileged writer can still use on `dir`'s filesystem; Infinity when unknown. */
async function freeBytesOf(dir: string): Promise<number> {
	try {
		const stats = await statfs(dir);
		return Number(stats.bavail) * Number(stats.bsize);
	} catch {
		return Number.POSITIVE_INFINITY;
	}
}
