// `npm run bench:server` (README "Performance", "Collaboration server"): fan-out latency (p50/p99 from an edit on one client
// to its arrival on each other client of the document) and delivered updates/s, 500 connections over
// 50 documents, against OUR server (the real process: auth, write guard, durable log on Postgres,
// projection) and bare Hocuspocus (`new Server()`, no extensions), both started by this script.
//
// Each server has its own client process (`server-client.ts`, driven over IPC) holding only that
// server's connections: a client's GC pause can then only hit its own server's windows. Windows
// alternate between the servers; before every window the parent has both (idle) clients run a full
// GC and waits for it. Edits follow a fixed schedule; a slot the client reaches more than
// BENCH_SLACK_MS late (after a stall) is counted as missed and not sent, so no catch-up burst.
// Both clients get the same seed, schedule and treatment.
//
// A third run (BENCH_YWS, on by default; 0 skips it): our server again, its own process and client,
// reached by the standard y-websocket provider on `/yjs/<name>` (docs/y-websocket.md) — the same
// code path behind a translating adapter — alternating with the other two.
//
// Env: BENCH_ROUNDS (4) × BENCH_SECONDS (4) measured per server, alternating; BENCH_WARMUP_SECONDS (3);
// BENCH_RATE (edits/s per document, 10); BENCH_CONNECTIONS (500); BENCH_DOCS (50);
// BENCH_PROFILE (a directory: write a V8 CPU profile of our server there); BENCH_NODE_ARGS (extra
// node arguments for our server, space-separated: e.g. `--trace-gc`, `--import ./diag.mjs`);
// BENCH_SLACK_MS (10: how late a send slot may be reached and still be sent); TEST_SEED (replay);
// TEST_DATABASE_URL.
//
// Projection lag (docs/architecture.md "Projection and change feed": document change → rows committed,
// goal p99 < 250 ms under this
// load) is read from our server's `khs_projection_lag_seconds` histogram on /metrics, as the bucket
// counts gained during our measured windows only (not warm-up), quantiles interpolated in-bucket.
import { type ChildProcess, fork } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
	killIfRunning,
	login,
	openTestDatabase,
	type ServerProcess,
	startServerProcess
} from '../integration/support/server-process.ts';
import { yjsUrl } from '../integration/support/y-websocket-client.ts';
import { testSeed } from '../support/random.ts';
import {
	addBucketDelta,
	type Buckets,
	bucketQuantileMs,
	fetchMetrics,
	metricsToken,
	parseGauge,
	parseHistogram,
	projectionLagMetric
} from './metrics-text.ts';
import type { ClientReply, ClientRequest } from './server-client.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ratePerDoc = Number(process.env.BENCH_RATE ?? 10);
const connectionCount = Number(process.env.BENCH_CONNECTIONS ?? 500);
const docCount = Number(process.env.BENCH_DOCS ?? 50);
const slackMs = Number(process.env.BENCH_SLACK_MS ?? 10);
const seed = testSeed();
const clientScript = fileURLToPath(new URL('./server-client.ts', import.meta.url));
const withYWebsocket = process.env.BENCH_YWS !== '0';
interface Result {
	label: string;
	edits: number;
	deliveries: number;
	expected: number;
	p50: number;
	p90: number;
	p99: number;
	max: number;
	deliveredPerSecond: number;
}

function percentile(sorted: Float64Array, p: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** A bench client process (`server-client.ts`) for one server, and what it measured. */
interface Session {
	label: string;
	proc: ChildProcess;
	request<T extends ClientReply['type']>(
		body: DistributiveOmit<ClientRequest, 'id'>
	): Promise<Extract<ClientReply, { type: T }>>;
	stats: {
		latencies: number[];
		deliveries: number;
		expected: number;
		edits: number;
		missed: number;
		late: number;
		sendingMs: number;
	};
	/** Worst event-loop delay of this server's client process in any measured window. */
	clientLoop: { p99Ms: number; maxMs: number };
	/**
	 * Worst event-loop delay of the SERVER in any measured window (ours: prom-client's gauges, which
	 * reset at every scrape, scraped at each window's start and end; bare: the same monitor over IPC):
	 * tells the server's own blocking apart from waiting for a CPU the machine does not have.
	 */
	serverLoop: { p99Ms: number; maxMs: number };
	/** Full GCs the parent had this client run between windows: longest, and heap after the last. */
	gc: { count: number; maxMs: number; heapMB: number };
	/** Resets the server's loop monitor (window start); reads it (window end). */
	serverLoopReset(): Promise<void>;
	serverLoopRead(): Promise<{ p99Ms: number; maxMs: number }>;
	/** Projection-lag buckets gained during measured windows (our server only). */
	projectionLag: Buckets | undefined;
	metricsUrl: string | undefined;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Starts one client process and connects its `connectionCount` clients over `docCount` documents. */
async function open(
	label: string,
	server: ServerProcess,
	token: string,
	userId: string,
	metricsUrl?: string,
	dialect: 'hocuspocus' | 'y-websocket' = 'hocuspocus'
): Promise<Session> {
	const proc = fork(clientScript, [], {
		execArgv: ['--expose-gc', '--import', 'tsx'],
		stdio: ['ignore', 'inherit', 'inherit', 'ipc']
	});
	clientProcs.push(proc);
	let nextId = 0;
	const pending = new Map<number, { resolve(reply: ClientReply): void; reject(error: Error): void }>();
	proc.on('message', (reply: ClientReply) => {
		const waiter = pending.get(reply.id);
		pending.delete(reply.id);
		if (reply.type === 'error') waiter?.reject(new Error(`${label} client: ${reply.message}`));
		else waiter?.resolve(reply);
	});
	proc.once('exit', (code, signal) => {
		for (const waiter of pending.values())
			waiter.reject(new Error(`${label} client exited (${code ?? signal})`));
		pending.clear();
	});
	const request = <T extends ClientReply['type']>(body: DistributiveOmit<ClientRequest, 'id'>) =>
		new Promise<Extract<ClientReply, { type: T }>>((resolve, reject) => {
			const id = nextId++;
			pending.set(id, { resolve: resolve as (reply: ClientReply) => void, reject });
			proc.send({ ...body, id });
		});

	// Our server's loop figures come with the projection-lag scrape; bare's over IPC.
	const serverIpc = (type: 'loop-reset' | 'loop-read') =>
		new Promise<{ p99Ms: number; maxMs: number }>((resolve) => {
			server.proc.once('message', (reply: { p99Ms: number; maxMs: number }) => resolve(reply));
			server.proc.send?.({ type });
		});

	const session: Session = {
		label,
		proc,
		request,
		stats: { latencies: [], deliveries: 0, expected: 0, edits: 0, missed: 0, late: 0, sendingMs: 0 },
		clientLoop: { p99Ms: 0, maxMs: 0 },
		serverLoop: { p99Ms: 0, maxMs: 0 },
		gc: { count: 0, maxMs: 0, heapMB: 0 },
		projectionLag: metricsUrl ? new Map() : undefined,
		metricsUrl,
		serverLoopReset: async () => {
			if (!metricsUrl) await serverIpc('loop-reset');
		},
		serverLoopRead: () => serverIpc('loop-read')
	};
	await request<'opened'>({
		type: 'open',
		ws: dialect === 'y-websocket' ? yjsUrl(server.ws) : server.ws,
		dialect,
		token,
		userId,
		seed,
		connections: connectionCount,
		docs: docCount,
		rate: ratePerDoc * docCount,
		slackMs
	});
	return session;
}

/** Full GC in one (idle) client process, awaited: its heap is collected while nothing is measured. */
async function collect(session: Session): Promise<void> {
	const reply = await session.request<'collected'>({ type: 'gc' });
	session.gc.count++;
	session.gc.maxMs = Math.max(session.gc.maxMs, reply.ms);
	session.gc.heapMB = reply.heapMB;
}

/** One window of `session`'s client sending; when `measure`, adds its figures to the session's. */
async function load(session: Session, ms: number, measure: boolean): Promise<void> {
	const scrape = async () => (session.metricsUrl ? await fetchMetrics(session.metricsUrl) : '');
	const lagBefore =
		measure && session.metricsUrl ? parseHistogram(await scrape(), projectionLagMetric) : undefined;
	if (measure) await session.serverLoopReset();
	const { result } = await session.request<'window'>({ type: 'load', ms, measure });
	if (!measure) return;
	const { stats } = session;
	for (const latency of result.latencies) stats.latencies.push(latency);
	stats.deliveries += result.deliveries;
	stats.expected += result.expected;
	stats.edits += result.edits;
	stats.missed += result.missed;
	stats.late += result.late;
	stats.sendingMs += result.sendingMs;
	session.clientLoop.p99Ms = Math.max(session.clientLoop.p99Ms, result.loopP99Ms);
	session.clientLoop.maxMs = Math.max(session.clientLoop.maxMs, result.loopMaxMs);
	let loop: { p99Ms: number; maxMs: number };
	if (lagBefore && session.projectionLag) {
		const text = await scrape();
		addBucketDelta(session.projectionLag, lagBefore, parseHistogram(text, projectionLagMetric));
		loop = {
			p99Ms: parseGauge(text, 'khs_process_nodejs_eventloop_lag_p99_seconds') * 1000,
			maxMs: parseGauge(text, 'khs_process_nodejs_eventloop_lag_max_seconds') * 1000
		};
	} else loop = await session.serverLoopRead();
	session.serverLoop.p99Ms = Math.max(session.serverLoop.p99Ms, loop.p99Ms);
	session.serverLoop.maxMs = Math.max(session.serverLoop.maxMs, loop.maxMs);
}

function summarize(session: Session): Result {
	const { stats } = session;
	const sorted = Float64Array.from(stats.latencies).sort();
	return {
		label: session.label,
		edits: stats.edits,
		deliveries: stats.deliveries,
		expected: stats.expected,
		p50: percentile(sorted, 50),
		p90: percentile(sorted, 90),
		p99: percentile(sorted, 99),
		max: sorted.at(-1) ?? Number.NaN,
		deliveredPerSecond: stats.deliveries / (stats.sendingMs / 1000)
	};
}

function row(r: Result): string {
	const f = (n: number) => n.toFixed(1).padStart(8);
	return `${r.label.padEnd(28)}${f(r.p50)}${f(r.p90)}${f(r.p99)}${f(r.max)}${String(Math.round(r.deliveredPerSecond)).padStart(12)}${`${r.deliveries}/${r.expected}`.padStart(16)}`;
}

const cpu = cpus();
console.log(
	`machine: ${cpu[0]?.model ?? 'unknown cpu'} × ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`
);
console.log(
	`load: ${connectionCount} connections over ${docCount} documents, ${ratePerDoc} edits/s per document (${ratePerDoc * docCount} edits/s, fan-out ${connectionCount / docCount - 1}), ${warmupSeconds}s warm-up + ${rounds}×${seconds}s measured per server, alternating; one client process per server, full GC of each idle client before every window; fixed send schedule, slots reached > ${slackMs} ms late are missed (not sent); seed ${seed}`
);

const database = await openTestDatabase();
const servers: ServerProcess[] = [];
const clientProcs: ChildProcess[] = [];
try {
	const benchUser = await database.addUser('bench@khs.test', 'OWNER');
	const profileDir = process.env.BENCH_PROFILE;
	const nodeArgs = [
		...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
		...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])
	];
	const ours = await startServerProcess({
		databaseUrl: database.databaseUrl,
		nodeArgs,
		env: { METRICS_TOKEN: metricsToken }
	});
	servers.push(ours);
	const bare = await startServerProcess({
		databaseUrl: database.databaseUrl,
		script: 'tests/bench/bare-hocuspocus.ts',
		nodeArgs: ['--import', 'tsx'],
		ipc: true
	});
	servers.push(bare);
	// Our server once more, for the y-websocket dialect: its own process, so each of our servers
	// holds only its own client's 500 connections, like bare.
	const oursY = withYWebsocket
		? await startServerProcess({
				databaseUrl: database.databaseUrl,
				nodeArgs,
				env: { METRICS_TOKEN: metricsToken }
			})
		: undefined;
	if (oursY) servers.push(oursY);
	const sessions = [
		await open(
			'ours (auth+guard+pg+proj)',
			ours,
			await login(ours.http, 'bench@khs.test'),
			benchUser.id,
			`${ours.http}/metrics`
		),
		await open('bare Hocuspocus', bare, 'no-auth', benchUser.id),
		...(oursY
			? [
					await open(
						'ours via y-websocket',
						oursY,
						await login(oursY.http, 'bench@khs.test'),
						benchUser.id,
						`${oursY.http}/metrics`,
						'y-websocket'
					)
				]
			: [])
	];
	// Alternate short measured windows between the two servers, so a noisy neighbour on the machine
	// (builds, other tests) hits both alike instead of whichever ran second. Before every window both
	// client processes (idle then) run a full GC, awaited, so neither carries garbage into a window.
	const runWindow = async (session: Session, ms: number, measure: boolean) => {
		for (const s of sessions) await collect(s);
		await load(session, ms, measure);
	};
	for (const session of sessions) await runWindow(session, warmupSeconds * 1000, false);
	for (let round = 0; round < rounds; round++) {
		for (const session of round % 2 === 0 ? sessions : [...sessions].reverse()) {
			await runWindow(session, seconds * 1000, true);
		}
	}
	// A sanity check on the load itself: refused (and undone) edits would measure another path.
	const refusalsOf = async (server: ServerProcess) =>
		/^khs_write_refusals_total (\S+)$/m.exec(await fetchMetrics(`${server.http}/metrics`))?.[1] ?? 'unknown';
	const refusals = await refusalsOf(ours);
	const refusalsY = oursY ? await refusalsOf(oursY) : undefined;
	for (const session of sessions) await session.request<'closed'>({ type: 'close' });
	const [oursResult, bareResult, yResult] = sessions.map(summarize) as [Result, Result, Result | undefined];
	for (const server of servers) {
		server.proc.kill('SIGTERM');
		await server.exited;
	}

	console.log(
		`\n${'server'.padEnd(28)}${'p50 ms'.padStart(8)}${'p90 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'max ms'.padStart(8)}${'delivered/s'.padStart(12)}${'delivered'.padStart(16)}`
	);
	console.log(row(oursResult));
	console.log(row(bareResult));
	if (yResult) console.log(row(yResult));
	console.log(
		`\n${'server'.padEnd(28)}${'sent'.padStart(8)}${'missed'.padStart(8)}${'late'.padStart(8)}${'client loop p99/max'.padStart(22)}${'server loop p99/max'.padStart(22)}${'client GC max'.padStart(15)}`
	);
	for (const session of sessions) {
		const { stats, clientLoop, serverLoop, gc } = session;
		const pair = (l: { p99Ms: number; maxMs: number }) =>
			`${l.p99Ms.toFixed(1)} / ${l.maxMs.toFixed(1)} ms`.padStart(22);
		console.log(
			`${session.label.padEnd(28)}${String(stats.edits).padStart(8)}${String(stats.missed).padStart(8)}${String(stats.late).padStart(8)}${pair(clientLoop)}${pair(serverLoop)}${`${gc.maxMs.toFixed(0)} ms`.padStart(15)}`
		);
	}
	console.log(
		`(sent/missed/late: edit slots of the measured windows; missed = reached > ${slackMs} ms late and skipped, no catch-up; late = sent > one slot late but within ${slackMs} ms. Loop delays: worst measured window. Client GC: longest full GC the parent ran in the idle client between windows.)`
	);
	console.log(`write-guard refusals on ours: ${refusals} (expected 0)`);
	if (refusalsY !== undefined)
		console.log(`write-guard refusals on ours via y-websocket: ${refusalsY} (expected 0)`);
	for (const session of sessions) {
		const lag = session.projectionLag;
		if (!lag) continue;
		const count = lag.get(Number.POSITIVE_INFINITY) ?? 0;
		const p99 = bucketQuantileMs(lag, 99);
		console.log(
			`\nprojection lag (${session.label}, measured windows, ${count} projections): p50 ${bucketQuantileMs(lag, 50).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (goal p99 < 250 ms: ${p99 < 250 ? 'met' : 'MISSED'})`
		);
	}
	const ratio = oursResult.p99 / bareResult.p99;
	console.log(
		`\np99 ratio ours/bare: ${ratio.toFixed(2)}× (goal ≤ 1.25×: ${ratio <= 1.25 ? 'met' : 'MISSED'}); p50 ratio ${(oursResult.p50 / bareResult.p50).toFixed(2)}×; delivered/s ratio ${(oursResult.deliveredPerSecond / bareResult.deliveredPerSecond).toFixed(2)}×`
	);
	if (yResult) {
		console.log(
			`y-websocket on ours: p99 ${(yResult.p99 / bareResult.p99).toFixed(2)}× bare, ${(yResult.p99 / oursResult.p99).toFixed(2)}× ours over /collab; p50 ${(yResult.p50 / oursResult.p50).toFixed(2)}× ours; delivered/s ${(yResult.deliveredPerSecond / oursResult.deliveredPerSecond).toFixed(2)}× ours`
		);
	}
} finally {
	for (const proc of clientProcs)
		if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
	for (const s of servers) await killIfRunning(s);
	await database.drop();
}
