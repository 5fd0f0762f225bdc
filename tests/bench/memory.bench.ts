// `npm run bench:memory` (docs/architecture.md "Durability", Unloading: memory returns to baseline
// after a 10,000-connection burst).
// Starts our real server process with --expose-gc, opens BENCH_CONNECTIONS (10,000) websocket
// connections over BENCH_DOCS (1,000) documents, one edit per document, closes them all, waits until
// the server reports 0 documents and 0 connections (/metrics), and prints heap/RSS at baseline, peak
// and after GC — twice, so growth between bursts would show. Figures only; nothing is asserted.

import { cpus } from 'node:os';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import {
	killIfRunning,
	login,
	openTestDatabase,
	type ServerProcess,
	startServerProcess
} from '../integration/support/server-process.ts';
import { connect, synced } from '../integration/support/writers.ts';
import { fetchMetrics, metricsToken, parseGauge } from './metrics-text.ts';

const connectionCount = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const docCount = Number(process.env.BENCH_DOCS ?? 1_000);
const bursts = Number(process.env.BENCH_BURSTS ?? 2);

interface Mem {
	heapUsed: number;
	rss: number;
	external: number;
	arrayBuffers: number;
}

function askMemory(server: ServerProcess): Promise<Mem> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('no memory answer from the server')), 10_000);
		server.proc.once('message', (m: Mem) => {
			clearTimeout(timer);
			resolve(m);
		});
		server.proc.send('mem');
	});
}

async function gauges(server: ServerProcess): Promise<{ documents: number; connections: number }> {
	const text = await fetchMetrics(`${server.http}/metrics`);
	return {
		documents: parseGauge(text, 'khs_documents_loaded'),
		connections: parseGauge(text, 'khs_websocket_connections')
	};
}

/** Polls the server's own gauges (a bench, another process: no event to wait on) until both are 0. */
async function drained(server: ServerProcess, ms = 120_000): Promise<number> {
	const started = performance.now();
	for (;;) {
		const g = await gauges(server);
		if (g.documents === 0 && g.connections === 0) return performance.now() - started;
		if (performance.now() - started > ms) throw new Error(`not drained after ${ms} ms: ${JSON.stringify(g)}`);
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`.padStart(10);
const line = (label: string, m: Mem) =>
	console.log(`${label.padEnd(34)}${mb(m.heapUsed)}${mb(m.rss)}${mb(m.external)}`);

const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'} × ${cpu.length}, node ${process.version}`);
console.log(`burst: ${connectionCount} connections over ${docCount} documents, ${bursts} bursts`);

const database = await openTestDatabase();
let server: ServerProcess | undefined;
try {
	await database.addUser('bench@khs.test', 'OWNER');
	server = await startServerProcess({
		databaseUrl: database.databaseUrl,
		nodeArgs: ['--expose-gc', '--import', './tests/bench/memory-probe.mjs'],
		ipc: true,
		// Every benchmark socket comes from 127.0.0.1: lift the per-address flood limit above the burst.
		env: { MAX_SOCKETS_PER_ADDRESS: String(connectionCount + 1), METRICS_TOKEN: metricsToken }
	});
	const token = await login(server.http, 'bench@khs.test');
	console.log(`\n${''.padEnd(34)}${'heap'.padStart(10)}${'rss'.padStart(10)}${'external'.padStart(10)}`);
	line('baseline (after GC)', await askMemory(server));
	for (let burst = 1; burst <= bursts; burst++) {
		const docNames = Array.from({ length: docCount }, () => `materials:${crypto.randomUUID()}`);
		const providers: HocuspocusProvider[] = [];
		const started = performance.now();
		for (let start = 0; start < connectionCount; start += 500) {
			const batch: HocuspocusProvider[] = [];
			for (let i = start; i < Math.min(connectionCount, start + 500); i++) {
				batch.push(connect(server.ws, docNames[i % docCount] as string, token));
			}
			await Promise.all(batch.map((p) => synced(p, 120_000)));
			providers.push(...batch);
		}
		const connectMs = performance.now() - started;
		for (let d = 0; d < docCount; d++) providers[d]?.document.getMap('materials').set('probe', d);
		const g = await gauges(server);
		line(`burst ${burst}: peak (${g.connections} conn, ${g.documents} docs)`, await askMemory(server));
		for (const p of providers) p.destroy();
		const drainMs = await drained(server);
		line(`burst ${burst}: after close + GC`, await askMemory(server));
		console.log(
			`  (connect ${(connectMs / 1000).toFixed(1)} s; drained to 0 documents/connections in ${(drainMs / 1000).toFixed(1)} s)`
		);
	}
	server.proc.kill('SIGTERM');
	await server.exited;
} finally {
	await killIfRunning(server);
	await database.drop();
}
