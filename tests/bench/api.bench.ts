/**
 * `npm run bench:api` (README "Performance", "Sync API"): push throughput (operations/s, batches of 100) and pull
 * throughput (changes/s paging through 100,000 changes), each next to the same work done with plain
 * SQL on the same database in the same run, as a ratio (the two alternate step by step, so noise hits
 * both alike). Real HTTP on 127.0.0.1, real Postgres
 * (TEST_DATABASE_URL, default the local one), a fresh schema dropped at the end.
 *
 * Then the same pull (100,000 newer rows) and push again while a retention pass deletes ~100,000
 * superseded change_log rows in the background (FEED-6), next to the same work without it.
 *
 * Env: BENCH_PUSH_BATCHES (default 30), BENCH_PULL_CHANGES (default 100000), BENCH_PULL_LIMIT (5000).
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { metrics } from '../../server/metrics.ts';
import { runRetention } from '../../server/sync/retention.ts';
import { op, startSyncServer } from '../../server/sync/test-support.ts';
import { encodeToken } from '../../server/sync/tokens.ts';

const pushBatches = Number(process.env.BENCH_PUSH_BATCHES ?? 30);
const pullChanges = Number(process.env.BENCH_PULL_CHANGES ?? 100_000);
const pullLimit = Number(process.env.BENCH_PULL_LIMIT ?? 5_000);
const BATCH = 100;
const JOBS = 10;

const server = await startSyncServer('pg');
await server.addUser('bench@x.test', 'OWNER');
const token = await server.login('bench@x.test');
const { db } = server;
const jobIds = Array.from({ length: JOBS }, () => randomUUID());

function materialData(jobId: string, i: number) {
	return { jobId, name: `item ${i}`, quantity: i % 7, unit: 'pcs', purchased: false };
}

// Push and pull are each measured as API and plain-SQL steps that ALTERNATE (batch by batch, page
// by page, who goes first switching every step), so the machine's noise — 2 shared cores — hits both
// sides alike; measured one after the other, a burst of other work landing in one phase moved the
// ratio by 2× between runs (2026-12-02: plain-SQL pull 44k–199k changes/s in one half hour).

/** One batch through the API: 100 material creates over 10 job lists (10 documents, 10 projections). */
async function apiPushBatch(): Promise<void> {
	const operations = Array.from({ length: BATCH }, (_, i) =>
		op({
			type: 'create',
			entity: 'material',
			entityId: randomUUID(),
			data: materialData(jobIds[i % JOBS] as string, i)
		})
	);
	const res = await server.call(token, 'POST', '/api/sync/push', { deviceId: 'bench', operations });
	if (res.status !== 200 || res.body.processed.some((p: { status: string }) => p.status !== 'applied')) {
		throw new Error(`push failed: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
	}
}

/** The same rows with plain SQL: entity rows through the triggers + idempotency rows, one transaction. */
async function sqlPushBatch(): Promise<void> {
	const rows = Array.from({ length: BATCH }, (_, i) => ({
		id: randomUUID(),
		jobId: jobIds[i % JOBS] as string,
		i
	}));
	await db.transaction(async (tx) => {
		await tx.query(
			`INSERT INTO materials (id, job_id, data, version, state_vector)
			 SELECT u.id, u.job_id, u.data, 1, '\\x00'::bytea FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[]) AS u(id, job_id, data)`,
			[
				rows.map((r) => r.id),
				rows.map((r) => r.jobId),
				rows.map((r) => JSON.stringify({ id: r.id, ...materialData(r.jobId, r.i) }))
			]
		);
		await tx.query(
			`INSERT INTO sync_operations (id, user_id, device_id, status, entity, entity_id, version)
			 SELECT unnest($1::text[]), $2, 'bench', 'applied', 'material', unnest($1::text[]), 1`,
			[rows.map(() => randomUUID()), jobIds[0]]
		);
	});
}

/** Seconds each side spent in all, and its median step (ms): robust to a burst of other work. */
interface Spent {
	seconds: number;
	medianMs: number;
	/** CPU seconds of this process (server and client) and of our Postgres backends; null off Linux. */
	cpu: { node: number; pg: number } | null;
}

// CPU accounting (Linux /proc): wall time on a shared 2-core machine is mostly waiting for a core,
// CPU time is what each side costs. "Ours" are the Postgres backends behind this process's sockets.
const CLOCK_TICKS = 100;
function procCpuSeconds(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
async function ourBackendPids(): Promise<number[] | null> {
	try {
		const inodes = new Set<string>();
		for (const fd of readdirSync('/proc/self/fd')) {
			const link = (() => {
				try {
					return readlinkSync(`/proc/self/fd/${fd}`);
				} catch {
					return '';
				}
			})();
			const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
			if (inode) inodes.add(inode);
		}
		const ports: number[] = [];
		for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
			for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
				const f = line.trim().split(/\s+/);
				if (f[9] && inodes.has(f[9])) ports.push(Number.parseInt(f[1]?.split(':')[1] ?? '0', 16));
			}
		}
		const { rows } = await db.query<{ pid: number }>(
			'SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])',
			[ports]
		);
		return rows.map((r) => r.pid);
	} catch {
		return null;
	}
}
function cpuNow(pids: number[] | null): { node: number; pg: number } | null {
	if (!pids) return null;
	const usage = process.cpuUsage();
	return {
		node: (usage.user + usage.system) / 1e6,
		pg: pids.reduce((sum, pid) => sum + procCpuSeconds(pid), 0)
	};
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;

/**
 * Runs `a` and `b` alternately (who goes first switches each step), `steps` times or, with 0, until
 * both returned false; what each spent.
 */
async function alternate(
	steps: number,
	a: () => Promise<boolean | undefined>,
	b: () => Promise<boolean | undefined>
): Promise<[Spent, Spent]> {
	// Every pool connection open first, so its backend is counted.
	await Promise.all(Array.from({ length: 4 }, () => db.query('SELECT pg_sleep(0.01)')));
	const pids = await ourBackendPids();
	const cpu = pids
		? [
				{ node: 0, pg: 0 },
				{ node: 0, pg: 0 }
			]
		: null;
	const times: [number[], number[]] = [[], []];
	const done = [false, false];
	const sides = [a, b];
	for (let step = 0; (steps === 0 || step < steps) && !(done[0] && done[1]); step++) {
		for (const side of step % 2 === 0 ? [0, 1] : [1, 0]) {
			if (done[side]) continue;
			const c0 = cpuNow(pids);
			const t0 = performance.now();
			if ((await sides[side]?.()) === false) done[side] = true;
			times[side]?.push(performance.now() - t0);
			const c1 = cpuNow(pids);
			const total = cpu?.[side];
			if (total && c0 && c1) {
				total.node += c1.node - c0.node;
				total.pg += c1.pg - c0.pg;
			}
		}
	}
	const spent = (xs: number[], side: number) => ({
		seconds: xs.reduce((x, y) => x + y, 0) / 1000,
		medianMs: median(xs),
		cpu: cpu?.[side] ?? null
	});
	return [spent(times[0], 0), spent(times[1], 1)];
}

// --- push ---------------------------------------------------------------------------------------
// Warm-up: load every list document once so the measurement is steady state, not first loads.
await server.call(token, 'POST', '/api/sync/push', {
	deviceId: 'bench',
	operations: jobIds.map((jobId) =>
		op({ type: 'create', entity: 'material', entityId: randomUUID(), data: materialData(jobId, 0) })
	)
});
const [apiPushSpent, sqlPushSpent] = await alternate(
	pushBatches,
	async () => {
		await apiPushBatch();
		return undefined;
	},
	async () => {
		await sqlPushBatch();
		return undefined;
	}
);
const apiPushOps = (pushBatches * BATCH) / apiPushSpent.seconds;
const sqlPushOps = (pushBatches * BATCH) / sqlPushSpent.seconds;

// --- pull: seed the change log up to `pullChanges` rows (plain SQL, through the triggers) ---------
const { rows: countRows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM change_log');
const missing = pullChanges - (countRows[0]?.n ?? 0);
for (let done = 0; done < missing; done += 10_000) {
	const n = Math.min(10_000, missing - done);
	await db.query(
		`INSERT INTO materials (id, job_id, data, version, state_vector)
		 SELECT gen_random_uuid(), $1::uuid, jsonb_build_object('name', 'seed ' || g, 'quantity', g % 9, 'unit', 'm',
		   'purchased', false, 'notes', '', 'createdAt', 1, 'updatedAt', 1, 'deleted', false, 'jobId', $1::text), 1, '\\x00'::bytea
		 FROM generate_series(1, $2::int) g`,
		[jobIds[1], n]
	);
}

// Statistics, as a database that has been running has them (autovacuum): without them Postgres
// bitmap-scans and sorts every row after the cursor for the plain-SQL page (42.7 ms a page, 32.9 ms
// once analyzed, 2026-12-03), which flattered the API, whose feed reads in index order regardless.
await db.query('ANALYZE change_log');

// --- pull: the API paging until hasMore is false, next to plain SQL's same keyset pages ----------
let apiPulled = 0;
let cursor: string | undefined;
let pages = 0;
/** One API page (a client's read: fetch, decompress, parse); false once it said hasMore: false. */
async function apiPullPage(): Promise<boolean> {
	const qs = new URLSearchParams({ limit: String(pullLimit) });
	if (cursor) qs.set('lastSyncToken', cursor);
	const res = await fetch(`${server.http}/api/sync/pull?${qs}`, {
		headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'br, gzip' }
	});
	const page = (await res.json()) as {
		changes: unknown[];
		deletions: unknown[];
		syncToken: string;
		hasMore: boolean;
	};
	apiPulled += page.changes.length + page.deletions.length;
	pages++;
	cursor = page.syncToken;
	return page.hasMore;
}
// `change_log.txid`: a bare `txid` in ORDER BY names the `txid::text` output column, and sorting by it
// scans and sorts the whole table instead of reading the (txid, seq) index (48 ms a page against 3 ms).
let sqlPulled = 0;
let position = { txid: '0', seq: 0 };
let sqlPages = 0;
async function sqlPullPage(): Promise<boolean> {
	sqlPages++;
	const { rows } = await db.query<{ seq: number; txid: string; data: unknown }>(
		`SELECT seq, txid::text AS txid, entity_type, entity_id, operation, user_id, version, data, changed_at
		 FROM change_log WHERE (txid, seq) > ($1::xid8, $2::bigint) ORDER BY change_log.txid, seq LIMIT $3`,
		[position.txid, position.seq, pullLimit]
	);
	sqlPulled += rows.length;
	const last = rows[rows.length - 1];
	if (!last || rows.length < pullLimit) return false;
	position = { txid: last.txid, seq: Number(last.seq) };
	return true;
}
const [apiPullSpent, sqlPullSpent] = await alternate(0, apiPullPage, sqlPullPage);
const apiPullSeconds = apiPullSpent.seconds;
const sqlPullSeconds = sqlPullSpent.seconds;

// --- with retention running (FEED-6): the same push and pull work, in the same run -------------
// Give retention real work: every seeded material gets a newer version (superseding its first row),
// and everything logged so far is made 40 days old. Retention then deletes ~pullChanges rows in
// batches while we push and pull again; the pull reads the NEW rows from a token past the old ones,
// like a client inside the horizon.
const { rows: tip } = await db.query<{ txid: string; seq: number }>(
	'SELECT txid::text AS txid, seq FROM change_log ORDER BY txid DESC, seq DESC LIMIT 1'
);
const insideToken = encodeToken({ txid: tip[0]?.txid ?? '0', seq: Number(tip[0]?.seq ?? 0) });
await db.query(`UPDATE change_log SET changed_at = now() - interval '40 days'`);
await db.query(
	`UPDATE materials SET version = version + 1, data = data || '{"quantity": 1}'::jsonb WHERE job_id = $1`,
	[jobIds[1]]
);

async function apiPull(from: string | undefined): Promise<{ pulled: number; seconds: number }> {
	const t0 = performance.now();
	let pulled = 0;
	let at = from;
	for (;;) {
		const qs = new URLSearchParams({ limit: String(pullLimit) });
		if (at) qs.set('lastSyncToken', at);
		const res = await fetch(`${server.http}/api/sync/pull?${qs}`, {
			headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'br, gzip' }
		});
		if (res.status !== 200) throw new Error(`pull failed: ${res.status} ${await res.text()}`);
		const page = (await res.json()) as {
			changes: unknown[];
			deletions: unknown[];
			syncToken: string;
			hasMore: boolean;
		};
		pulled += page.changes.length + page.deletions.length;
		at = page.syncToken;
		if (!page.hasMore) return { pulled, seconds: (performance.now() - t0) / 1000 };
	}
}
async function apiPush(): Promise<number> {
	const t0 = performance.now();
	for (let b = 0; b < pushBatches; b++) await apiPushBatch();
	return (pushBatches * BATCH) / ((performance.now() - t0) / 1000);
}
// Without retention first (same rows, same token), then with it running.
const quietPull = await apiPull(insideToken);
const quietPushOps = await apiPush();
let retentionDone = false;
const retentionStarted = performance.now();
const retention = runRetention(db, { changeLogRetentionDays: 30 }).then((r) => {
	retentionDone = true;
	return { ...r, seconds: (performance.now() - retentionStarted) / 1000 };
});
const busyPushOps = await apiPush();
const pushOverlapped = !retentionDone;
const busyPull = await apiPull(insideToken);
const pullOverlapped = !retentionDone;
const retentionRun = await retention;

const lag = (await metrics.projectionLag.get()).values;
const lagCount = lag.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
const lagSum = lag.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log('\nbench:api — one run, Postgres', process.env.TEST_DATABASE_URL ?? '127.0.0.1:5432', '\n');
console.log('| measure | sync API | plain SQL | API / SQL |');
console.log('|---|---:|---:|---:|');
console.log(
	`| push, ops/s (${pushBatches} batches of ${BATCH}, 10 documents each) | ${fmt(apiPushOps)} | ${fmt(sqlPushOps)} | ${(apiPushOps / sqlPushOps).toFixed(3)} |`
);
console.log(
	`| pull, changes/s (${fmt(apiPulled)} changes, ${pages} pages of ${pullLimit}) | ${fmt(apiPulled / apiPullSeconds)} | ${fmt(sqlPulled / sqlPullSeconds)} | ${(apiPulled / apiPullSeconds / (sqlPulled / sqlPullSeconds)).toFixed(3)} |`
);
console.log(
	`\nmedian step (ms), API / SQL: push batch ${apiPushSpent.medianMs.toFixed(1)} / ${sqlPushSpent.medianMs.toFixed(1)} (ratio ${(sqlPushSpent.medianMs / apiPushSpent.medianMs).toFixed(3)}), pull page ${apiPullSpent.medianMs.toFixed(1)} / ${sqlPullSpent.medianMs.toFixed(1)} (ratio ${(sqlPullSpent.medianMs / apiPullSpent.medianMs).toFixed(3)})`
);
const cpuLine = (what: string, api: Spent, sql: Spent, steps: [number, number]) => {
	if (!api.cpu || !sql.cpu) return `${what}: CPU not measured (no /proc)`;
	const per = (c: { node: number; pg: number }, n: number) =>
		`${((c.node * 1000) / n).toFixed(1)} + ${((c.pg * 1000) / n).toFixed(1)}`;
	const ratio = (sql.cpu.node + sql.cpu.pg) / steps[1] / ((api.cpu.node + api.cpu.pg) / steps[0]);
	return `${what}: CPU ms per step, this process + Postgres, API ${per(api.cpu, steps[0])} / SQL ${per(sql.cpu, steps[1])} (ratio ${ratio.toFixed(3)})`;
};
console.log(cpuLine('push', apiPushSpent, sqlPushSpent, [pushBatches, pushBatches]));
console.log(cpuLine('pull', apiPullSpent, sqlPullSpent, [pages, sqlPages]));
console.log(
	`\nprojection lag: mean ${((lagSum / Math.max(lagCount, 1)) * 1000).toFixed(1)} ms over ${lagCount} projections`
);
console.log(
	'\nwith retention running (same run; pull = the 100,000 newer rows from a token inside the horizon):\n'
);
console.log('| measure | retention idle | retention running | running / idle |');
console.log('|---|---:|---:|---:|');
console.log(
	`| pull, changes/s | ${fmt(quietPull.pulled / quietPull.seconds)} | ${fmt(busyPull.pulled / busyPull.seconds)}${pullOverlapped ? '' : ' (retention ended first)'} | ${(busyPull.pulled / busyPull.seconds / (quietPull.pulled / quietPull.seconds)).toFixed(3)} |`
);
console.log(
	`| push, ops/s | ${fmt(quietPushOps)} | ${fmt(busyPushOps)}${pushOverlapped ? '' : ' (retention ended first)'} | ${(busyPushOps / quietPushOps).toFixed(3)} |`
);
console.log(
	`\nretention pass: ${fmt(retentionRun.changeLogDeleted)} change_log rows deleted in ${retentionRun.batches} batches, ${retentionRun.seconds.toFixed(1)} s`
);
// The busy pull also carries the creates pushed in between: never fewer.
if (busyPull.pulled < quietPull.pulled)
	throw new Error(`pulled ${busyPull.pulled} with retention, ${quietPull.pulled} without`);
if (apiPulled < pullChanges) throw new Error(`pulled ${apiPulled} of ${pullChanges} changes`);
await server.close();
process.exit(0);
