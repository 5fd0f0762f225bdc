// `npm run bench:server` (issue 3 "Measured"): fan-out latency (p50/p99 from an edit on one client
// to its arrival on each other client of the document) and delivered updates/s, 500 connections over
// 50 documents, against OUR server (the real process: auth, write guard, durable log on Postgres,
// projection) and bare Hocuspocus (`new Server()`, no extensions), both started by this script.
//
// Env: BENCH_ROUNDS (4) × BENCH_SECONDS (4) measured per server, alternating; BENCH_WARMUP_SECONDS (3);
// BENCH_RATE (edits/s per document, 10); BENCH_CONNECTIONS (500); BENCH_DOCS (50);
// BENCH_PROFILE (a directory: write a V8 CPU profile of our server there); BENCH_NODE_ARGS (extra
// node arguments for our server, space-separated: e.g. `--trace-gc`, `--import ./diag.mjs`); TEST_SEED (replay);
// TEST_DATABASE_URL.
//
// Projection lag (issue 4 "Measured": document change → rows committed, goal p99 < 250 ms under this
// load) is read from our server's `khs_projection_lag_seconds` histogram on /metrics, as the bucket
// counts gained during our measured windows only (not warm-up), quantiles interpolated in-bucket.
import { cpus, totalmem } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import * as Y from 'yjs';
import { HybridClock, MaterialListDoc } from '../../crdt/index.ts';
import {
	killIfRunning,
	login,
	openTestDatabase,
	type ServerProcess,
	startServerProcess
} from '../integration/support/server-process.ts';
import { connect, synced } from '../integration/support/writers.ts';
import { seededRandom, testSeed } from '../support/random.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ratePerDoc = Number(process.env.BENCH_RATE ?? 10);
const connectionCount = Number(process.env.BENCH_CONNECTIONS ?? 500);
const docCount = Number(process.env.BENCH_DOCS ?? 50);
const seed = testSeed();

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

/** Cumulative bucket counts of one Prometheus histogram, by upper bound (seconds). */
type Buckets = Map<number, number>;

function parseHistogram(text: string, name: string): Buckets {
	const buckets: Buckets = new Map();
	const line = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`);
	for (const row of text.split('\n')) {
		const match = line.exec(row);
		if (match)
			buckets.set(match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2]));
	}
	return buckets;
}

/** One gauge of the Prometheus text, NaN when absent. */
function parseGauge(text: string, name: string): number {
	const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
	return match ? Number(match[1]) : Number.NaN;
}

/** `after - before`, bucket by bucket, added into `into`. */
function addBucketDelta(into: Buckets, before: Buckets, after: Buckets): void {
	for (const [le, count] of after) into.set(le, (into.get(le) ?? 0) + count - (before.get(le) ?? 0));
}

/** Quantile `p` (0–100) of cumulative buckets, linear within the bucket (like histogram_quantile). */
function bucketQuantileMs(buckets: Buckets, p: number): number {
	const bounds = [...buckets.keys()].sort((a, b) => a - b);
	const total = buckets.get(Number.POSITIVE_INFINITY) ?? 0;
	if (total === 0) return Number.NaN;
	const rank = (p / 100) * total;
	let lower = 0;
	let below = 0;
	for (const le of bounds) {
		const count = buckets.get(le) ?? 0;
		if (count >= rank) {
			if (le === Number.POSITIVE_INFINITY) return lower * 1000;
			return (lower + ((le - lower) * (rank - below)) / Math.max(count - below, 1)) * 1000;
		}
		lower = le;
		below = count;
	}
	return Number.NaN;
}

interface Client {
	provider: HocuspocusProvider;
	list: MaterialListDoc;
	docIndex: number;
}

interface Session {
	label: string;
	clients: Client[];
	/** Runs the load for `ms`; when `measure`, adds the latencies and counts to `stats`. */
	load(ms: number, measure: boolean): Promise<void>;
	stats: { latencies: number[]; deliveries: number; expected: number; edits: number; sendingMs: number };
	/** Projection-lag buckets gained during measured windows (our server only). */
	projectionLag: Buckets | undefined;
	/**
	 * Worst event-loop delay of our server in any measured window (prom-client's monitor resets at
	 * every scrape, and we scrape at each window's start and end): tells our own blocking apart from
	 * waiting for a CPU the machine does not have.
	 */
	eventLoop: { p99Ms: number; maxMs: number };
	/**
	 * Worst event-loop delay of THIS (client) process in any of the session's measured windows. Every
	 * latency is timed here, so a stall of the client (its own GC: it holds all 1,000 replicas) delays
	 * every delivery of the window it lands in, whichever server is measured then.
	 */
	clientLoop: { p99Ms: number; maxMs: number };
}

/** The client process's event-loop delay, reset at each measured window's start. */
const clientDelay = monitorEventLoopDelay({ resolution: 10 });
clientDelay.enable();

/** Connects `connectionCount` clients over `docCount` fresh documents of one server. */
async function open(
	label: string,
	ws: string,
	token: string,
	userId: string,
	metricsUrl?: string
): Promise<Session> {
	const random = seededRandom(seed);
	const docNames = Array.from({ length: docCount }, () => `materials:${crypto.randomUUID()}`);
	/** `${clientID}:${clock after the edit}` → when it was made. */
	const sentAt = new Map<string, number>();
	let measuring = false;
	const stats = { latencies: [] as number[], deliveries: 0, expected: 0, edits: 0, sendingMs: 0 };

	const clients: Client[] = [];
	// Connect in batches: a 500-socket SYN burst overflows the default listen backlog on small machines.
	for (let start = 0; start < connectionCount; start += 100) {
		const batch: Client[] = [];
		for (let i = start; i < Math.min(connectionCount, start + 100); i++) {
			const docIndex = i % docCount;
			const doc = new Y.Doc();
			const provider = connect(ws, docNames[docIndex] as string, token, doc);
			const list = new MaterialListDoc(doc, docNames[docIndex]?.slice('materials:'.length) as string, {
				// The logged-in user's own id: entries stamped as anyone else are refused and undone by
				// the write guard (issue 3 write rules), which would measure the refusal path instead.
				writer: { userId, deviceId: `bench-${i}`, role: 'OWNER' },
				clock: new HybridClock()
			});
			doc.on('update', (update: Uint8Array, origin: unknown) => {
				if (origin !== provider || !measuring) return;
				const now = performance.now();
				for (const [client, to] of Y.parseUpdateMeta(update).to) {
					const at = sentAt.get(`${client}:${to}`);
					if (at === undefined) continue;
					stats.latencies.push(now - at);
					stats.deliveries++;
				}
			});
			batch.push({ provider, list, docIndex });
		}
		await Promise.all(batch.map((c) => synced(c.provider, 60_000)));
		clients.push(...batch);
	}
	const byDoc = docNames.map((_, d) => clients.filter((c) => c.docIndex === d));

	// The load: every document gets `ratePerDoc` edits a second, each from a random one of its
	// clients — mostly quantity changes on an existing material, sometimes a new material. Edits are
	// spread evenly over time (documents in turn), not fired in one burst per tick, which would
	// measure queueing behind the burst rather than fan-out.
	let next = 0;
	const editOne = (measure: boolean) => {
		const group = byDoc[next++ % docCount] as Client[];
		const client = group[Math.floor(random() * group.length)] as Client;
		const ids = client.list.ids();
		const id = ids.length > 0 && random() < 0.8 ? ids[Math.floor(random() * ids.length)] : undefined;
		if (id) client.list.require(id).set({ quantity: Math.floor(random() * 100) });
		else client.list.add({ name: `m${next}`, quantity: 1, unit: 'pcs' });
		if (!measure) return;
		const doc = client.provider.document;
		sentAt.set(`${doc.clientID}:${Y.getState(doc.store, doc.clientID)}`, performance.now());
		stats.expected += group.length - 1;
		stats.edits++;
	};

	const projectionLag: Buckets | undefined = metricsUrl ? new Map() : undefined;
	const eventLoop = { p99Ms: 0, maxMs: 0 };
	const clientLoop = { p99Ms: 0, maxMs: 0 };
	const lagMetric = 'khs_projection_lag_seconds';
	return {
		label,
		clients,
		stats,
		projectionLag,
		eventLoop,
		clientLoop,
		async load(ms, measure) {
			const scrape = async () => (metricsUrl ? await (await fetch(metricsUrl)).text() : '');
			const lagBefore = measure && metricsUrl ? parseHistogram(await scrape(), lagMetric) : undefined;
			const started = performance.now();
			let done = 0;
			measuring = measure;
			clientDelay.reset();
			// Catch up to the target count on every timer fire, so timer jitter does not lower the rate.
			const timer = setInterval(() => {
				const target = Math.floor(((performance.now() - started) / 1000) * ratePerDoc * docCount);
				for (; done < target; done++) editOne(measure);
			}, 2);
			await new Promise((resolve) => setTimeout(resolve, ms));
			clearInterval(timer);
			if (measure) {
				stats.sendingMs += performance.now() - started;
				clientLoop.p99Ms = Math.max(clientLoop.p99Ms, clientDelay.percentile(99) / 1e6);
				clientLoop.maxMs = Math.max(clientLoop.maxMs, clientDelay.max / 1e6);
			}
			// Let the last edits' deliveries land (bounded) before the other server's window starts.
			const deadline = performance.now() + 5_000;
			while (stats.deliveries < stats.expected && performance.now() < deadline) {
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
			measuring = false;
			sentAt.clear();
			if (lagBefore && projectionLag) {
				const text = await scrape();
				addBucketDelta(projectionLag, lagBefore, parseHistogram(text, lagMetric));
				const p99Ms = parseGauge(text, 'khs_process_nodejs_eventloop_lag_p99_seconds') * 1000;
				const maxMs = parseGauge(text, 'khs_process_nodejs_eventloop_lag_max_seconds') * 1000;
				eventLoop.p99Ms = Math.max(eventLoop.p99Ms, p99Ms);
				eventLoop.maxMs = Math.max(eventLoop.maxMs, maxMs);
			}
		}
	};
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
	`load: ${connectionCount} connections over ${docCount} documents, ${ratePerDoc} edits/s per document (${ratePerDoc * docCount} edits/s, fan-out ${connectionCount / docCount - 1}), ${warmupSeconds}s warm-up + ${rounds}×${seconds}s measured per server, alternating; seed ${seed}`
);

const database = await openTestDatabase();
const servers: ServerProcess[] = [];
try {
	const benchUser = await database.addUser('bench@khs.test', 'OWNER');
	const profileDir = process.env.BENCH_PROFILE;
	const nodeArgs = [
		...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
		...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])
	];
	const ours = await startServerProcess({ databaseUrl: database.databaseUrl, nodeArgs });
	servers.push(ours);
	const bare = await startServerProcess({
		databaseUrl: database.databaseUrl,
		script: 'tests/bench/bare-hocuspocus.ts',
		nodeArgs: ['--import', 'tsx']
	});
	servers.push(bare);
	const sessions = [
		await open(
			'ours (auth+guard+pg+proj)',
			ours.ws,
			await login(ours.http, 'bench@khs.test'),
			benchUser.id,
			`${ours.http}/metrics`
		),
		await open('bare Hocuspocus', bare.ws, 'no-auth', benchUser.id)
	];
	// Alternate short measured windows between the two servers, so a noisy neighbour on the machine
	// (builds, other tests) hits both alike instead of whichever ran second.
	for (const session of sessions) await session.load(warmupSeconds * 1000, false);
	for (let round = 0; round < rounds; round++) {
		for (const session of round % 2 === 0 ? sessions : [...sessions].reverse()) {
			await session.load(seconds * 1000, true);
		}
	}
	// A sanity check on the load itself: refused (and undone) edits would measure another path.
	const refusals = /^khs_write_refusals_total (\S+)$/m.exec(
		await (await fetch(`${ours.http}/metrics`)).text()
	);
	for (const session of sessions) for (const c of session.clients) c.provider.destroy();
	const [oursResult, bareResult] = sessions.map(summarize) as [Result, Result];
	for (const server of [ours, bare]) {
		server.proc.kill('SIGTERM');
		await server.exited;
	}

	console.log(
		`\n${'server'.padEnd(28)}${'p50 ms'.padStart(8)}${'p90 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'max ms'.padStart(8)}${'delivered/s'.padStart(12)}${'delivered'.padStart(16)}`
	);
	console.log(row(oursResult));
	console.log(row(bareResult));
	const ratio = oursResult.p99 / bareResult.p99;
	console.log(`write-guard refusals on ours: ${refusals?.[1] ?? 'unknown'} (expected 0)`);
	const loop = sessions[0]?.eventLoop;
	if (loop)
		console.log(
			`event-loop delay of ours, worst measured window: p99 ${loop.p99Ms.toFixed(1)} ms, max ${loop.maxMs.toFixed(1)} ms`
		);
	for (const session of sessions)
		console.log(
			`event-loop delay of the bench client during ${session.label}'s windows, worst: p99 ${session.clientLoop.p99Ms.toFixed(1)} ms, max ${session.clientLoop.maxMs.toFixed(1)} ms`
		);
	const lag = sessions[0]?.projectionLag;
	if (lag) {
		const count = lag.get(Number.POSITIVE_INFINITY) ?? 0;
		const p99 = bucketQuantileMs(lag, 99);
		console.log(
			`\nprojection lag (ours, measured windows, ${count} projections): p50 ${bucketQuantileMs(lag, 50).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (goal p99 < 250 ms: ${p99 < 250 ? 'met' : 'MISSED'})`
		);
	}
	console.log(
		`\np99 ratio ours/bare: ${ratio.toFixed(2)}× (goal ≤ 1.25×: ${ratio <= 1.25 ? 'met' : 'MISSED'}); p50 ratio ${(oursResult.p50 / bareResult.p50).toFixed(2)}×; delivered/s ratio ${(oursResult.deliveredPerSecond / bareResult.deliveredPerSecond).toFixed(2)}×`
	);
} finally {
	for (const s of servers) await killIfRunning(s);
	await database.drop();
}
