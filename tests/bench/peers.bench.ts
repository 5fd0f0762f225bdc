// `npm run bench:peers`: our server against its peers under the same client work, one table.
//
// Servers (each its own process; tests/bench/peers/servers.ts):
//   KHS     — ours, `npm start` exactly (auth, write guard, durable update log and projection on
//             Postgres), reached on /collab with @hocuspocus/provider;
//   bare HP — Hocuspocus 4.7 `new Server()`, no extensions;
//   HP+DB   — Hocuspocus 4.7 + @hocuspocus/extension-database storing each document to a Postgres
//             table with `pg` (same database);
//   y-ws    — @y/websocket-server's setupWSConnection, reached with the y-websocket provider;
//   floor   — a bare `ws` relay of update bytes between the sockets of a document (no Y.Doc).
// Every server gets the same client work: edits through our crdt/ views (MaterialListDoc), from one
// load-generator process per server (tests/bench/peers/client.ts), on a fixed schedule.
//
// Scenarios (BENCH_SCENARIOS, comma-separated, default all):
//   idle  — base RSS after start; 200 connections over 200 documents (each seeded with 5
//           materials), then 2,000 over the same 200: RSS per connection = Δ(2,000 − 200) / 1,800,
//           per document = (RSS at 200/200 − base) / 200 − per connection. RSS after two full GCs.
//   2000  — fan-out latency at 2,000 connections over 200 documents (on the idle phase's replicas
//           when it ran), BENCH_RATE edits/s over all documents;
//   500   — the same at 500 connections over 50 documents;
//   aged  — (not in the default set) the 500 scenario on documents that first got BENCH_PAST_CLIENTS
//           (1,000) past Yjs clients each, one edit apiece: an app session is a new Y.Doc, so a job
//           edited for months holds thousands, and every Yjs transaction walks all of them;
//   storm — 200 clients over 20 documents (plus one connected anchor replica per document, so the
//           documents stay loaded) go offline, make 50 edits each, and reconnect at once: time until
//           every replica holds every edit, and the server's CPU (+ its Postgres backends) from the
//           reconnect to 3 s after convergence (deferred stores included).
// Fan-out windows alternate between the servers (order reversed every round) after a warm-up window
// each, with a full GC of every idle load generator before each window; figures are the median over
// the rounds of each window's percentile. CPU per delivered update = (server process + its Postgres
// backends) CPU over the whole measured span of the scenario (own windows, the others' windows and
// 3 s of settling: deferred work such as Hocuspocus' debounced store lands there) ÷ deliveries in
// its own windows. "cores" = server-process CPU in its own windows ÷ their length.
// CPU and RSS come from /proc (tests/bench/peers/proc-stats.ts says how Postgres is attributed);
// each server's own event-loop delay per window from tests/bench/peers/loop-probe.mjs.
// With 2+ CPUs every server is pinned to CPU 1 and the load generators and this script to CPU 0
// (taskset); Postgres is the machine's and is not pinned.
//
// Env: BENCH_QUICK=1 (1 round of 2 s windows, 1 storm: ~2 min) · BENCH_ROUNDS (3) · BENCH_SECONDS
// (4) · BENCH_RATE (500 edits/s) · BENCH_STORMS (3) · BENCH_SCENARIOS · BENCH_PEERS
// (khs,bare,hpdb,yws,floor) · BENCH_PROFILE=<dir> (V8 CPU profile of our server, written at exit) ·
// BENCH_PG_COUNT=1 (count our server's Postgres statements per edit: tests/bench/peers/pg-query-count.mjs) ·
// BENCH_HEAP_PROFILE=<dir> (V8 allocation profile of every server over each scenario's measured part,
// collected objects included, and a row of bytes allocated per delivered update:
// tests/bench/peers/heap-sampler.mjs, read with heap-top.ts) ·
// TEST_SEED · TEST_DATABASE_URL.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { openTestDatabase } from '../integration/support/server-process.ts';
import { testSeed } from '../support/random.ts';
import {
	addBucketDelta,
	appendCommitLabels,
	appendCommitMetric,
	type Buckets,
	bucketCount,
	bucketQuantileMs,
	durabilityLagMetric,
	fetchMetrics,
	parseHistogram,
	projectionLagMetric
} from './metrics-text.ts';
import type { WindowResult } from './peers/client.ts';
import { cpuSeconds, ProcSampler } from './peers/proc-stats.ts';
import { type Cell, printTable } from './peers/report.ts';
import { gcRss, type Peer, type PeerId, peerLabels, startPeer } from './peers/servers.ts';
import { ClientSession, pin } from './peers/session.ts';

const env = process.env;
const quick = env.BENCH_QUICK === '1';
const rounds = Number(env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const windowMs = Number(env.BENCH_SECONDS ?? (quick ? 2 : 4)) * 1000;
const warmupMs = quick ? 1_000 : 2_000;
const rate = Number(env.BENCH_RATE ?? 500);
const storms = Number(env.BENCH_STORMS ?? (quick ? 1 : 3));
const slackMs = 10;
const settleMs = 3_000;
const scenarios = new Set((env.BENCH_SCENARIOS ?? 'idle,500,2000,storm').split(','));
const pastClients = Number(env.BENCH_PAST_CLIENTS ?? 1_000);
const peerIds = (env.BENCH_PEERS ?? 'khs,bare,hpdb,yws,floor').split(',') as PeerId[];
const seed = testSeed();
const countStatements = env.BENCH_PG_COUNT === '1';
const heapProfileDir = env.BENCH_HEAP_PROFILE;
const twoCpus = cpus().length >= 2;
const serverCpu = twoCpus ? 1 : undefined;
const clientCpu = twoCpus ? 0 : undefined;

const version = (name: string) =>
	(
		JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as {
			version: string;
		}
	).version;
const load = () =>
	loadavg()
		.map((l) => l.toFixed(2))
		.join(' ');

const cpu = cpus();
console.log(
	`bench:peers ${new Date().toISOString()} · ${cpu[0]?.model ?? 'unknown cpu'} × ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB · node ${process.version}`
);
console.log(
	`@hocuspocus/server ${version('@hocuspocus/server')} · @hocuspocus/extension-database ${version('@hocuspocus/extension-database')} · @hocuspocus/provider ${version('@hocuspocus/provider')} · @y/websocket-server ${version('@y/websocket-server')} · y-websocket ${version('y-websocket')} · yjs ${version('yjs')} · ws ${version('ws')} · pg ${version('pg')}`
);
console.log(
	`${quick ? 'QUICK: ' : ''}${rounds} round(s) × ${windowMs / 1000} s windows per server per scenario, ${rate} edits/s, ${storms} storm(s); seed ${seed}; load average at start ${load()} (shared machine: figures are noisy, compare within a run)`
);

const database = await openTestDatabase();
const pgVersion = (await database.db.query<{ server_version: string }>('SHOW server_version')).rows[0]
	?.server_version;
console.log(`postgres ${pgVersion ?? '(unknown)'}`);
const runTag = Math.random().toString(36).slice(2, 8);
const peers: Peer[] = [];
const sessions: ClientSession[] = [];
let sampler: ProcSampler | undefined;
const cells = new Map<string, Map<PeerId, Cell>>();
const put = (metric: string, id: PeerId, value: Cell) => {
	let row = cells.get(metric);
	if (!row) {
		row = new Map();
		cells.set(metric, row);
	}
	row.set(id, value);
};
const metricNames: string[] = [];
const metric = (name: string) => {
	if (!metricNames.includes(name)) metricNames.push(name);
	return name;
};

/** A server's own event-loop delay over one window (tests/bench/peers/loop-probe.mjs). */
interface LoopDelay {
	p99Ms: number;
	maxMs: number;
}

/** Our server's latency histograms read around each measured window, and the labels of their series. */
const serverLagMetrics: ReadonlyArray<readonly [string, Record<string, string>]> = [
	[projectionLagMetric, {}],
	[durabilityLagMetric, {}],
	[appendCommitMetric, appendCommitLabels]
];

function readLags(metricsText: string): Map<string, Buckets> {
	return new Map(serverLagMetrics.map(([name, labels]) => [name, parseHistogram(metricsText, name, labels)]));
}

function percentile(sorted: Float64Array, p: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
const median = (values: number[]) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
};

async function openSessions(): Promise<Map<PeerId, ClientSession>> {
	const byPeer = new Map<PeerId, ClientSession>();
	for (const peer of peers) {
		const session = new ClientSession(peer.label, clientCpu);
		sessions.push(session);
		await session.request({
			type: 'target',
			url: peer.url,
			dialect: peer.dialect,
			token: peer.token,
			userId: benchUserId,
			seed,
			durableAcks: peer.id === 'khs'
		});
		byPeer.set(peer.id, session);
	}
	return byPeer;
}

async function endSessions(byPeer: Map<PeerId, ClientSession>): Promise<void> {
	for (const session of byPeer.values()) {
		await session.end();
		sessions.splice(sessions.indexOf(session), 1);
	}
}

async function idle(byPeer: Map<PeerId, ClientSession>, base: Map<PeerId, number>): Promise<void> {
	for (const peer of peers) {
		const session = byPeer.get(peer.id) as ClientSession;
		await session.request({ type: 'open', connections: 200, docs: 200 });
		const atDocs = await gcRss(peer);
		await session.request({ type: 'open', connections: 2_000, docs: 200 });
		const atConns = await gcRss(peer);
		const perConn = (atConns - atDocs) / 1_800;
		const perDoc = (atDocs - (base.get(peer.id) as number)) / 200 - perConn;
		put(metric('idle: RSS per connection, KB'), peer.id, perConn / 1024);
		put(metric('idle: RSS per document (5 materials), KB'), peer.id, perDoc / 1024);
		put(metric('idle: RSS at 2,000 conns / 200 docs, MB'), peer.id, atConns / 2 ** 20);
		console.log(
			`idle ${peer.label}: base ${((base.get(peer.id) as number) / 2 ** 20).toFixed(1)} MB, 200/200 ${(atDocs / 2 ** 20).toFixed(1)} MB, 2,000/200 ${(atConns / 2 ** 20).toFixed(1)} MB`
		);
	}
}

async function fanOut(
	name: string,
	connections: number,
	docs: number,
	byPeer: Map<PeerId, ClientSession>,
	/** `aged`: each document first gets this many past Yjs clients (client.ts `age`). */
	pastClients = 0
): Promise<void> {
	const active = sampler as ProcSampler;
	for (const [id, session] of byPeer) {
		await session.request({ type: 'open', connections, docs });
		console.log(`${name}: ${peerLabels[id]} connected`);
		if (pastClients === 0) continue;
		const startedMs = performance.now();
		await session.request({ type: 'age', pastClients });
		console.log(`${name}: ${peerLabels[id]} aged in ${Math.round(performance.now() - startedMs)} ms`);
	}
	const gcAll = async () => {
		for (const session of byPeer.values()) await session.request({ type: 'gc' });
	};
	/** Our server's lag histograms over its measured windows (projection, durability). */
	const lags = new Map<string, Buckets>(serverLagMetrics.map(([name]) => [name, new Map()]));
	const window = async (id: PeerId, ms: number, measure: boolean) => {
		await gcAll();
		const peer = peers.find((p) => p.id === id) as Peer;
		const metricsUrl = measure && id === 'khs' ? `${peer.server.http}/metrics` : undefined;
		const lagsBefore = metricsUrl && readLags(await fetchMetrics(metricsUrl));
		if (measure) await ask(peer, { type: 'loop-reset' }, 'loop-reset');
		const before = cpuSeconds(peer.server.pid) ?? 0;
		const reply = await (byPeer.get(id) as ClientSession).request<'window'>({
			type: 'load',
			ms,
			rate,
			slackMs,
			measure
		});
		const serverS = (cpuSeconds(peer.server.pid) ?? 0) - before;
		const loop = measure ? await ask<LoopDelay>(peer, { type: 'loop-read' }, 'loop') : undefined;
		if (metricsUrl && lagsBefore) {
			const lagsAfter = readLags(await fetchMetrics(metricsUrl));
			for (const [name, into] of lags)
				addBucketDelta(into, lagsBefore.get(name) as Buckets, lagsAfter.get(name) as Buckets);
		}
		return { result: reply.result, serverS, loop };
	};
	for (const peer of peers) await window(peer.id, warmupMs, false);
	const khs = peers.find((p) => p.id === 'khs');
	const statementsBefore = countStatements && khs ? await statementCounts(khs) : undefined;
	await active.mark();
	const windows = new Map<
		PeerId,
		Array<{ result: WindowResult; serverS: number; loop?: LoopDelay | undefined }>
	>(peers.map((p) => [p.id, []]));
	const { allocated } = await heapSampled(name, peers, async () => {
		for (let round = 0; round < rounds; round++) {
			for (const peer of round % 2 === 0 ? peers : [...peers].reverse()) {
				windows.get(peer.id)?.push(await window(peer.id, windowMs, true));
			}
		}
	});
	await sleep(settleMs); // deferred work (debounced stores, projection) is the server's cost too
	if (statementsBefore && khs) {
		const after = await statementCounts(khs);
		const edits = (windows.get('khs') ?? []).reduce((sum, w) => sum + w.result.edits, 0);
		const kinds = Object.entries(after)
			.map(([kind, n]) => [kind, n - (statementsBefore[kind] ?? 0)] as const)
			.filter(([, n]) => n > 0)
			.sort((a, b) => b[1] - a[1]);
		const total = kinds.reduce((sum, [, n]) => sum + n, 0);
		console.log(
			`${name}: KHS sent ${total} Postgres statements for ${edits} edits (${(total / edits).toFixed(2)} per edit): ${kinds.map(([kind, n]) => `${kind} ${n}`).join(' · ')}`
		);
	}
	for (const peer of peers) {
		const list = windows.get(peer.id) ?? [];
		const per = list.map(({ result }) => Float64Array.from(result.latencies).sort());
		const deliveries = list.reduce((sum, w) => sum + w.result.deliveries, 0);
		const expected = list.reduce((sum, w) => sum + w.result.expected, 0);
		const sent = list.reduce((sum, w) => sum + w.result.edits, 0);
		const missed = list.reduce((sum, w) => sum + w.result.missed, 0);
		const ownS = list.reduce((sum, w) => sum + w.result.sendingMs / 1000, 0);
		const ownCpuS = list.reduce((sum, w) => sum + w.serverS, 0);
		const spent = await active.read(peer.label);
		const prefix = `${name}:`;
		put(metric(`${prefix} p50 ms`), peer.id, median(per.map((s) => percentile(s, 50))));
		put(metric(`${prefix} p90 ms`), peer.id, median(per.map((s) => percentile(s, 90))));
		put(metric(`${prefix} p99 ms (noisy)`), peer.id, median(per.map((s) => percentile(s, 99))));
		put(metric(`${prefix} server cores in own windows`), peer.id, ownCpuS / ownS);
		put(metric(`${prefix} RSS peak MB`), peer.id, spent.rssPeakBytes / 2 ** 20);
		put(
			metric(`${prefix} CPU µs / delivered update (server + pg)`),
			peer.id,
			((spent.serverS + spent.postgresS) / deliveries) * 1e6
		);
		put(metric(`${prefix} of which pg µs`), peer.id, (spent.postgresS / deliveries) * 1e6);
		const bytes = allocated?.get(peer.id);
		if (bytes !== undefined) {
			put(metric(`${prefix} KB allocated / delivered update (sampled)`), peer.id, bytes / deliveries / 1024);
		}
		if (peer.id === 'khs') {
			const acks = list.map(({ result }) => Float64Array.from(result.durableLatencies).sort());
			const p99 = median(acks.map((s) => percentile(s, 99)));
			put(
				metric(`${prefix} durable ack p50 / p99 ms`),
				peer.id,
				`${median(acks.map((s) => percentile(s, 50))).toFixed(1)} / ${p99.toFixed(1)}`
			);
			const acked = acks.reduce((sum, s) => sum + s.length, 0);
			put(metric(`${prefix} edits acked durable / sent`), peer.id, `${acked}/${sent}`);
			const quantiles = (buckets: Buckets, digits: number) =>
				`${bucketQuantileMs(buckets, 50).toFixed(digits)} / ${bucketQuantileMs(buckets, 99).toFixed(digits)} (${bucketCount(buckets)})`;
			put(
				metric(`${prefix} durable at server p50 / p99 ms (apply → ack sent)`),
				peer.id,
				quantiles(lags.get(durabilityLagMetric) as Buckets, 1)
			);
			put(
				metric(`${prefix} append → committed p50 / p99 ms (window included; coarse buckets)`),
				peer.id,
				quantiles(lags.get(appendCommitMetric) as Buckets, 1)
			);
			put(
				metric(`${prefix} projection lag p50 / p99 ms`),
				peer.id,
				quantiles(lags.get(projectionLagMetric) as Buckets, 0)
			);
		}
		const serverLoop = (pick: (loop: LoopDelay) => number) =>
			median(list.flatMap(({ loop }) => (loop ? [pick(loop)] : [])));
		put(
			metric(`${prefix} server event-loop delay p99 / max ms`),
			peer.id,
			`${serverLoop((l) => l.p99Ms).toFixed(1)} / ${serverLoop((l) => l.maxMs).toFixed(1)}`
		);
		const loop = (pick: (result: WindowResult) => number) => median(list.map(({ result }) => pick(result)));
		put(
			metric(`${prefix} load generator loop delay p99 / max ms`),
			peer.id,
			`${loop((r) => r.loopP99Ms).toFixed(1)} / ${loop((r) => r.loopMaxMs).toFixed(1)}`
		);
		put(metric(`${prefix} delivered / expected`), peer.id, `${deliveries}/${expected}`);
		put(metric(`${prefix} sent / missed slots`), peer.id, `${sent}/${missed}`);
	}
}

async function storm(): Promise<void> {
	const active = sampler as ProcSampler;
	const results = new Map<PeerId, { ms: number[]; cpuS: number[]; pgS: number[] }>(
		peers.map((p) => [p.id, { ms: [], cpuS: [], pgS: [] }])
	);
	for (let rep = 0; rep < storms; rep++) {
		for (const peer of rep % 2 === 0 ? peers : [...peers].reverse()) {
			const session = new ClientSession(peer.label, clientCpu);
			sessions.push(session);
			await session.request({
				type: 'target',
				url: peer.url,
				dialect: peer.dialect,
				token: peer.token,
				userId: benchUserId,
				seed: seed + rep
			});
			await session.request({ type: 'storm-prepare', clients: 200, docs: 20, offlineEdits: 50 });
			await session.request({ type: 'gc' });
			const before = await active.read(peer.label);
			const go = async () => {
				const reply = await session.request<'storm'>({ type: 'storm-go', timeoutMs: 120_000 });
				await sleep(settleMs);
				return reply;
			};
			// The first storm of each server only: one profile per scenario.
			const { result, allocated } =
				rep === 0 ? await heapSampled('storm', [peer], go) : { result: await go() };
			const { convergedMs } = result;
			const bytes = allocated?.get(peer.id);
			if (bytes !== undefined)
				put(metric('storm: MB allocated (sampled, first storm)'), peer.id, bytes / 2 ** 20);
			const after = await active.read(peer.label);
			const r = results.get(peer.id);
			r?.ms.push(convergedMs);
			r?.cpuS.push(after.serverS - before.serverS + after.postgresS - before.postgresS);
			r?.pgS.push(after.postgresS - before.postgresS);
			await session.end();
			sessions.splice(sessions.indexOf(session), 1);
		}
	}
	for (const [id, r] of results) {
		put(metric('storm: all converged ms'), id, median(r.ms));
		put(metric('storm: server CPU s (server + pg)'), id, median(r.cpuS));
		put(metric('storm: of which pg s'), id, median(r.pgS));
	}
}

/** Sends a server an IPC request for one of the bench's preloads and waits for the answer of type `replyType`. */
function ask<T>(peer: Peer, request: string | Record<string, string>, replyType: string): Promise<T> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no ${replyType} from ${peer.label}`)), 30_000);
		const onMessage = (m: { type?: string }) => {
			if (m?.type !== replyType) return;
			clearTimeout(timer);
			peer.server.proc.off('message', onMessage);
			resolve(m as T);
		};
		peer.server.proc.on('message', onMessage);
		peer.server.proc.send?.(request);
	});
}

/** Our server's Postgres statements so far, by kind (BENCH_PG_COUNT=1 only). */
async function statementCounts(peer: Peer): Promise<Record<string, number>> {
	return (await ask<{ counts?: Record<string, number> }>(peer, 'pg-count', 'pg-count')).counts ?? {};
}

/**
 * BENCH_HEAP_PROFILE only: samples every server's allocations while `measured` runs, writes each to
 * `<dir>/<name>-<peer>.heapprofile` (tests/bench/peers/heap-sampler.mjs; read with heap-top.ts) and
 * returns the bytes each allocated (undefined without BENCH_HEAP_PROFILE).
 */
async function heapSampled<T>(
	name: string,
	sampled: readonly Peer[],
	measured: () => Promise<T>
): Promise<{ result: T; allocated?: Map<PeerId, number> }> {
	if (!heapProfileDir) return { result: await measured() };
	for (const peer of sampled) await ask(peer, { type: 'heap-start' }, 'heap-started');
	const result = await measured();
	const allocated = new Map<PeerId, number>();
	for (const peer of sampled) {
		const file = `${heapProfileDir}/${`${name}-${peer.id}`.replace(/[^a-z0-9]+/gi, '-')}.heapprofile`;
		await ask(peer, { type: 'heap-stop', file }, 'heap-stopped');
		allocated.set(peer.id, allocatedBytes(JSON.parse(readFileSync(file, 'utf8')).head));
	}
	console.log(`${name}: allocation profiles in ${heapProfileDir}`);
	return { result, allocated };
}

/** All bytes a sampling heap profile counts (V8 scales each sample to what it stands for). */
function allocatedBytes(node: { selfSize: number; children: unknown[] }): number {
	let bytes = node.selfSize;
	for (const child of node.children) bytes += allocatedBytes(child as typeof node);
	return bytes;
}

let benchUserId = '';
try {
	if (twoCpus) pin(process.pid, clientCpu);
	benchUserId = (await database.addUser('bench@khs.test', 'OWNER')).id;
	const profileDir = env.BENCH_PROFILE;
	for (const id of peerIds) {
		const heapSampler = heapProfileDir ? ['--import', './tests/bench/peers/heap-sampler.mjs'] : [];
		const nodeArgs =
			id !== 'khs'
				? heapSampler
				: [
						...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
						...(countStatements ? ['--import', './tests/bench/peers/pg-query-count.mjs'] : []),
						...heapSampler,
						// Experiments with V8 flags on our server only, e.g. `--max-semi-space-size=16`.
						...(env.BENCH_KHS_NODE_ARGS?.split(' ').filter(Boolean) ?? [])
					];
		const peer = await startPeer(id, database, runTag, nodeArgs);
		const pinned = pin(peer.server.pid, serverCpu);
		peers.push(peer);
		console.log(`${peer.label}: pid ${peer.server.pid}${pinned ? `, pinned to CPU ${serverCpu}` : ''}`);
	}
	sampler = new ProcSampler(
		new Map(peers.map((p) => [p.label, { pid: p.server.pid, ...(p.appName ? { appName: p.appName } : {}) }])),
		database.databaseUrl
	);
	const base = new Map<PeerId, number>();
	for (const peer of peers) {
		const rss = await gcRss(peer);
		base.set(peer.id, rss);
		put(metric('base RSS after start, MB'), peer.id, rss / 2 ** 20);
	}
	// idle first: its per-document figure is measured against the RSS of the freshly started server.
	if (scenarios.has('idle') || scenarios.has('2000')) {
		const byPeer = await openSessions();
		if (scenarios.has('idle')) await idle(byPeer, base);
		if (scenarios.has('2000')) await fanOut('2,000 conns / 200 docs', 2_000, 200, byPeer);
		await endSessions(byPeer);
	}
	if (scenarios.has('500')) {
		const byPeer = await openSessions();
		await fanOut(`${(500).toLocaleString('en-US')} conns / 50 docs`, 500, 50, byPeer);
		await endSessions(byPeer);
	}
	if (scenarios.has('aged')) {
		const byPeer = await openSessions();
		await fanOut(
			`aged (${pastClients.toLocaleString('en-US')} past clients): 500 conns / 50 docs`,
			500,
			50,
			byPeer,
			pastClients
		);
		await endSessions(byPeer);
	}
	if (scenarios.has('storm')) await storm();
	const khs = peers.find((p) => p.id === 'khs');
	if (khs) {
		const text = await fetchMetrics(`${khs.server.http}/metrics`);
		console.log(
			`write-guard refusals on KHS: ${/^khs_write_refusals_total (\S+)$/m.exec(text)?.[1] ?? '0'} (expected 0)`
		);
	}
	console.log(`load average at end ${load()}\n`);
	printTable(
		metricNames,
		cells,
		peers.map((p) => p.id)
	);
	for (const peer of peers) {
		peer.server.proc.kill('SIGTERM');
		await peer.server.exited;
	}
} finally {
	await sampler?.stop();
	for (const session of sessions) session.proc.kill('SIGKILL');
	for (const peer of peers) {
		if (peer.server.proc.exitCode === null && peer.server.proc.signalCode === null) {
			peer.server.proc.kill('SIGKILL');
			await peer.server.exited;
		}
	}
	await database.drop();
}
