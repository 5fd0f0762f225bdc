import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallDisk, type SmallDisk } from '../../tests/faults/support/small-disk.ts';
import { waitUntil } from '../../tests/support/wait.ts';
import { describeDbContract } from './contract.ts';
import { DbError } from './errors.ts';
import { openDb } from './open.ts';
import { lostInstanceReason, openPgliteDb } from './pglite.ts';
import { openTestPgliteDb } from './testing.ts';

describeDbContract('pglite (in-memory)', async () => {
	const db = await openTestPgliteDb();
	return { db, dispose: () => db.close() };
});

describe('openDb without a database URL', () => {
	it('creates a PGlite database under dataDir on first start and reuses it after', async () => {
		const dir = await mkdtemp(join(tmpdir(), 'khs-db-'));
		const dataDir = join(dir, 'nested', 'data');
		try {
			const first = await openDb({ dataDir });
			expect(first.kind).toBe('pglite');
			await first.query('CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)');
			await first.close();
			const second = await openDb({ dataDir, databaseUrl: '' });
			const { rows } = await second.query('SELECT x FROM kept');
			expect(rows).toEqual([{ x: 7 }]);
			await second.close();
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
});

describe('lostInstanceReason', () => {
	it('gives up an instance on PANIC, disk full, I/O errors and WASM aborts, not on ordinary SQL errors', () => {
		const panic = {
			severity: 'PANIC',
			code: '53100',
			message: 'could not write to file "pg_wal/xlogtemp.42"'
		};
		expect(lostInstanceReason(panic)).toMatch(/PANIC 53100/);
		expect(
			lostInstanceReason({ severity: 'ERROR', code: '53100', message: 'could not extend file' })
		).toBeTruthy();
		expect(
			lostInstanceReason({ severity: 'ERROR', code: '58030', message: 'could not read block' })
		).toBeTruthy();
		expect(
			lostInstanceReason({ severity: 'ERROR', code: 'XX000', message: 'ERRORDATA_STACK_SIZE exceeded' })
		).toBeTruthy();
		expect(lostInstanceReason(new WebAssembly.RuntimeError('unreachable'))).toBeTruthy();
		expect(
			lostInstanceReason({ severity: 'ERROR', code: '42P01', message: 'relation "x" does not exist' })
		).toBeUndefined();
		expect(
			lostInstanceReason({ severity: 'ERROR', code: '23505', message: 'duplicate key' })
		).toBeUndefined();
		expect(lostInstanceReason(new TypeError('bad parameter'))).toBeUndefined();
	});
});

// Real ENOSPC: a size-limited tmpfs (mount, as root — this machine runs the suites as root). 96 MB:
// a new data directory (~40 MB with its first 16 MB WAL segment) plus room for a second segment.
describe('PGlite adapter on a full disk', () => {
	let disk: SmallDisk | null = null;
	afterAll(async () => {
		await disk?.destroy();
	});

	it('refuses with UNAVAILABLE while full, reopens when space returns, loses nothing it committed', async () => {
		disk = await mountSmallDisk(96);
		expect(disk, 'mount -t tmpfs (run as root)').not.toBeNull();
		if (!disk) return;
		const dataDir = join(disk.dir, 'data');
		const lost: string[] = [];
		let waitingForSpace = 0;
		let reopenFailures = 0;
		let reopened = 0;
		const db = await openPgliteDb({
			dataDir,
			reopenMaxDelayMs: 200,
			spaceCheckEveryMs: 50,
			events: {
				lost: ({ reason }) => lost.push(reason),
				waitingForSpace: () => waitingForSpace++,
				reopenFailed: () => reopenFailures++,
				reopened: () => reopened++
			}
		});
		const payload = new Uint8Array(1500).fill(7);
		const insert = () => db.query('INSERT INTO t (payload) VALUES ($1)', [payload]);
		await db.query('CREATE TABLE t (id bigserial PRIMARY KEY, payload bytea)');
		let committed = 0;
		let attempted = 0;
		for (let i = 0; i < 200; i++, attempted++) {
			await insert();
			committed++;
		}

		disk.fill();
		// Force what a busy server meets sooner or later: a new WAL segment on a full disk (a PANIC
		// in PGlite, whose next statement would never return). Statements answer or are refused.
		let refusal: unknown;
		for (let i = 0; i < 100 && refusal === undefined; i++) {
			try {
				await db.query('SELECT pg_switch_wal()');
				attempted++;
				await insert();
				committed++;
			} catch (error) {
				refusal = error;
			}
		}
		expect(refusal).toBeInstanceOf(DbError);
		expect(refusal).toMatchObject({ code: 'UNAVAILABLE' });
		expect(lost.join('\n')).toMatch(/No space left on device/);
		// While full: every call is refused at once (healthz's SELECT 1, a transaction), none hangs.
		await expect(db.query('SELECT 1')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
		await expect(db.transaction((tx) => tx.query('SELECT 1'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
		// No reopen on a disk still full (each would block the event loop, then fail again).
		await waitUntil(() => waitingForSpace > 0, { what: 'the adapter to wait for free space' });
		await expect(db.query('SELECT 1')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
		expect({ reopened, reopenFailures }).toEqual({ reopened: 0, reopenFailures: 0 });

		await disk.free();
		const count = async () =>
			Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0]?.n);
		const afterFree = await waitUntil(() => count().catch(() => undefined), {
			what: 'the adapter to reopen the database after space returned',
			timeoutMs: 20_000
		});
		expect(reopened).toBe(1);
		// Every committed insert is there; the one refused may or may not have committed.
		expect(afterFree).toBeGreaterThanOrEqual(committed);
		expect(afterFree).toBeLessThanOrEqual(attempted);
		await insert();
		await db.transaction(async (tx) => {
			await tx.query('INSERT INTO t (payload) VALUES ($1)', [payload]);
		});
		await db.close();

		const again = await openPgliteDb({ dataDir });
		try {
			const { rows } = await again.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
			expect(rows[0]?.n).toBe(afterFree + 2);
		} finally {
			await again.close();
		}
	}, 120_000);
});
