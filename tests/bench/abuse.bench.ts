// `npm run bench:abuse` (docs/socket-limits.md): one real server process (scripts/start.mjs, real
// Postgres, default limits) under three attacks in turn, each while an honest pair keeps editing a
// document of its own (an edit every 25 ms from one provider, timed to its arrival at another):
//   (a) the step-1 flood: 20,000 sync step 1s from one socket on a 1.7 MB material list (SOCK-1);
//   (b) a garbage storm: 10,000 frames of random bytes, truncated frames and text frames, from 50
//       sockets that reconnect whenever the server closes them (SOCK-9);
//   (c) a login storm: 400 concurrent logins with unknown emails (only measured here).
// Printed per phase: the server's peak RSS (/proc/<pid>/status), the honest edit latency p50/p99
// and its ratio to the no-attack baseline measured first in the same run, and the answers (close
// codes or HTTP statuses) the attacker got.
// Env: BENCH_WINDOW_MS (3000: the shortest measured window per phase); TEST_SEED; TEST_DATABASE_URL.
import { cpus, totalmem } from 'node:os';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { authFrame, syncStep1Frame } from '../../server/collab/frame-builders.ts';
import { parseDurableAck } from '../../wire/durability.ts';
import { addMaterials, floodSyncStep1, relayEdit, rssBytes, watchRss } from '../integration/support/flood.ts';
import {
	killIfRunning,
	login,
	openTestDatabase,
	type ServerProcess,
	startServerProcess
} from '../integration/support/server-process.ts';
import { connect, synced } from '../integration/support/writers.ts';
import { seededRandom, testSeed } from '../support/random.ts';

const windowMs = Number(process.env.BENCH_WINDOW_MS ?? 3_000);
const editEveryMs = 25;
const seed = testSeed();
const random = seededRandom(seed);
const MB = 2 ** 20;

interface PhaseResult {
	label: string;
	peakRssBytes: number;
	latenciesMs: number[];
	lost: number;
	answers: Map<string, number>;
	attackMs: number;
}

function quantile(sorted: number[], q: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function tally(answers: Map<string, number>, key: string): void {
	answers.set(key, (answers.get(key) ?? 0) + 1);
}

/** Resolves once the server acknowledged durable everything `provider`'s own client wrote. */
function durable(provider: HocuspocusProvider): Promise<void> {
	const own = Y.getState(provider.document.store, provider.document.clientID);
	return new Promise((resolve) =>
		provider.on('stateless', ({ payload }: { payload: string }) => {
			if ((parseDurableAck(payload)?.get(provider.document.clientID) ?? 0) >= own) resolve();
		})
	);
}

/** (b) One garbage frame: random bytes, a truncated real frame, or text. */
function garbageFrame(token: string): { data: Uint8Array | string; kind: string } {
	const pick = random();
	if (pick < 0.4) {
		const bytes = new Uint8Array(1 + Math.floor(random() * 64));
		for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
		return { data: bytes, kind: 'random' };
	}
	if (pick < 0.8) {
		const name = `materials:${crypto.randomUUID()}`;
		const whole = random() < 0.5 ? authFrame(name, token) : syncStep1Frame(name);
		return { data: whole.subarray(0, Math.floor(random() * whole.length)), kind: 'truncated' };
	}
	return { data: 'not a binary frame', kind: 'text' };
}

async function garbageStorm(url: string, token: string, frames: number, sockets: number) {
	const answers = new Map<string, number>();
	let sent = 0;
	const worker = async () => {
		while (sent < frames) {
			const ws = new WebSocket(url);
			ws.on('error', () => {});
			const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
			const opened = await Promise.race([
				new Promise<boolean>((resolve) => ws.once('open', () => resolve(true))),
				closed.then(() => false)
			]);
			if (!opened) {
				tally(answers, `refused before open`);
				continue;
			}
			// Up to 20 frames per socket; most sockets are closed by the first.
			for (let i = 0; i < 20 && sent < frames && ws.readyState === WebSocket.OPEN; i++) {
				ws.send(garbageFrame(token).data);
				sent++;
			}
			// A socket the server has not closed 2 s after its frames is cut by the bench (1006).
			let cut = false;
			const timer = setTimeout(() => {
				cut = true;
				ws.terminate();
			}, 2_000);
			const code = await closed;
			clearTimeout(timer);
			tally(answers, cut ? 'still open after 2 s' : `close ${code}`);
		}
	};
	await Promise.all(Array.from({ length: sockets }, worker));
	return answers;
}

async function loginStorm(http: string, count: number) {
	const answers = new Map<string, number>();
	await Promise.all(
		Array.from({ length: count }, async (_, i) => {
			try {
				const res = await fetch(`${http}/api/auth/login`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ email: `nobody-${i}-${seed}@abuse.test`, password: 'guessed password' })
				});
				await res.arrayBuffer();
				tally(answers, `HTTP ${res.status}`);
			} catch (err) {
				tally(answers, `error ${(err as Error).message}`);
			}
		})
	);
	return answers;
}

async function main(): Promise<void> {
	console.log(`bench:abuse seed=${seed} (replay with TEST_SEED=${seed})`);
	const database = await openTestDatabase();
	let server: ServerProcess | undefined;
	const providers: HocuspocusProvider[] = [];
	try {
		const ownerId = (await database.addUser('owner@abuse.bench', 'OWNER')).id;
		server = await startServerProcess({ databaseUrl: database.databaseUrl });
		const token = await login(server.http, 'owner@abuse.bench');
		const pid = server.pid;

		// The flood target: a ~1.7 MB material list (2,500 materials), durable on the server and kept loaded by its writer.
		const listName = `materials:${crypto.randomUUID()}`;
		const listDoc = new Y.Doc();
		addMaterials(listDoc, 2_500, ownerId, 'list');
		const listBytes = Y.encodeStateAsUpdate(listDoc).byteLength;
		const lister = connect(server.ws, listName, token, listDoc);
		providers.push(lister);
		const listStored = durable(lister);
		await synced(lister, 60_000);
		await listStored;

		// The honest pair, on a document of its own.
		const probeName = `materials:${crypto.randomUUID()}`;
		const editorDoc = new Y.Doc();
		const editor = connect(server.ws, probeName, token, editorDoc);
		const observer = connect(server.ws, probeName, token);
		providers.push(editor, observer);
		await Promise.all([synced(editor), synced(observer)]);

		let edits = 0;
		async function phase(label: string, attack: () => Promise<Map<string, number>>): Promise<PhaseResult> {
			const rss = watchRss(pid);
			const latenciesMs: number[] = [];
			let lost = 0;
			const inFlight: Array<Promise<void>> = [];
			const probe = setInterval(() => {
				inFlight.push(
					relayEdit({ doc: editorDoc, userId: ownerId }, observer, `probe-${edits++}`, 10_000).then(
						(ms) => void latenciesMs.push(ms),
						() => void lost++
					)
				);
			}, editEveryMs);
			const startedMs = performance.now();
			const windowDone = new Promise((resolve) => setTimeout(resolve, windowMs));
			const answers = await attack();
			const attackMs = performance.now() - startedMs;
			await windowDone;
			clearInterval(probe);
			await Promise.all(inFlight);
			const peakRssBytes = rss.stop();
			latenciesMs.sort((a, b) => a - b);
			return { label, peakRssBytes, latenciesMs, lost, answers, attackMs };
		}

		const rssIdle = rssBytes(pid);
		const results: PhaseResult[] = [];
		results.push(await phase('baseline (no attack)', async () => new Map()));
		results.push(
			await phase(`(a) 20,000 step-1s, one socket, ${(listBytes / 1e6).toFixed(1)} MB list`, async () => {
				const close = await floodSyncStep1(server?.ws as string, listName, token, 20_000);
				return new Map([[`close ${close.code} "${close.reason}"`, 1]]);
			})
		);
		results.push(
			await phase('(b) 10,000 garbage frames, 50 sockets', () =>
				garbageStorm(server?.ws as string, token, 10_000, 50)
			)
		);
		results.push(
			await phase('(c) 400 concurrent unknown-email logins', () => loginStorm(server?.http as string, 400))
		);

		const health = await fetch(`${server.http}/healthz`);
		const [baseline] = results as [PhaseResult];
		const baseP99 = quantile(baseline.latenciesMs, 0.99);
		const cpu = cpus()[0]?.model ?? 'unknown CPU';
		console.log(
			`\n${new Date().toISOString().slice(0, 10)} · ${cpu} × ${cpus().length} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · Node ${process.version}`
		);
		console.log(
			`flood target ${listBytes} bytes; server RSS idle ${(rssIdle / MB).toFixed(0)} MB; /healthz after: ${health.status}`
		);
		console.log(
			'\n| phase | attack took | peak RSS | RSS vs idle | edits p50 / p99 | p99 vs baseline | lost | answers |'
		);
		console.log('|---|---|---|---|---|---|---|---|');
		for (const r of results) {
			const p50 = quantile(r.latenciesMs, 0.5);
			const p99 = quantile(r.latenciesMs, 0.99);
			const answers = [...r.answers].map(([k, n]) => `${k}: ${n}`).join(', ') || '—';
			console.log(
				`| ${r.label} | ${r.attackMs.toFixed(0)} ms | ${(r.peakRssBytes / MB).toFixed(0)} MB | +${((r.peakRssBytes - rssIdle) / MB).toFixed(0)} MB | ${p50.toFixed(1)} / ${p99.toFixed(1)} ms | ${(p99 / baseP99).toFixed(2)}× | ${r.lost} of ${r.latenciesMs.length + r.lost} | ${answers} |`
			);
		}
	} finally {
		for (const p of providers) p.destroy();
		await killIfRunning(server);
		await database.drop();
	}
}

main().then(
	() => process.exit(0),
	(err: unknown) => {
		console.error(err);
		process.exit(1);
	}
);
