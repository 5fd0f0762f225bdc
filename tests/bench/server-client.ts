// One bench client of `npm run bench:server`: a child process (`node --expose-gc --import tsx`)
// holding the connections to ONE server only, driven by the bench script over IPC. Each server gets
// its own client process, so a client's GC pause (its replicas grow with Yjs tombstones) can only
// land in its own server's windows, and the parent has each idle client collect between windows.
//
// Sends follow a fixed schedule (slot k at start + k / rate). A slot whose time is more than
// `slackMs` past when the timer gets to it is MISSED (counted, never sent), so a stall of the client
// is not followed by a catch-up burst that the server would then be measured absorbing. Latency is
// timed from the actual send to the arrival on each other client of the document (one clock: all
// replicas of the server live in this process). `dialect` picks the provider: Hocuspocus' on
// `/collab` or the standard y-websocket one on `/yjs/<name>` (docs/y-websocket.md).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as Y from 'yjs';
import { HybridClock, MaterialListDoc } from '../../crdt/index.ts';
import { connect, synced } from '../integration/support/writers.ts';
import { YClient } from '../integration/support/y-websocket-client.ts';
import { seededRandom } from '../support/random.ts';

export type ClientRequest = { id: number } & (
	| {
			type: 'open';
			/** The server's websocket base: `/collab` for Hocuspocus, `/yjs` for y-websocket. */
			ws: string;
			dialect: 'hocuspocus' | 'y-websocket';
			token: string;
			userId: string;
			seed: number;
			connections: number;
			docs: number;
			/** Edits per second over all documents. */
			rate: number;
			slackMs: number;
	  }
	| { type: 'load'; ms: number; measure: boolean }
	| { type: 'gc' }
	| { type: 'close' }
);

/** One window's figures (latencies only when measured). */
export interface WindowResult {
	edits: number;
	/** Slots not sent because the client reached them more than `slackMs` late. */
	missed: number;
	/** Slots sent late but within `slackMs` (timer jitter). */
	late: number;
	deliveries: number;
	expected: number;
	latencies: number[];
	sendingMs: number;
	/** This process's event-loop delay over the window (sending + draining), ms. */
	loopP99Ms: number;
	loopMaxMs: number;
}

export type ClientReply = { id: number } & (
	| { type: 'opened' }
	| { type: 'window'; result: WindowResult }
	| { type: 'collected'; ms: number; heapMB: number }
	| { type: 'closed' }
	| { type: 'error'; message: string }
);

interface Client {
	doc: Y.Doc;
	/** The transaction origin of updates the provider received from the server. */
	origin: unknown;
	list: MaterialListDoc;
	destroy(): void;
}

/** One replica of `docName` on the server, synced. */
async function openClient(
	request: Extract<ClientRequest, { type: 'open' }>,
	docName: string,
	doc: Y.Doc
): Promise<{ origin: unknown; destroy(): void }> {
	if (request.dialect === 'y-websocket') {
		const client = new YClient(request.ws, docName, request.token, doc);
		await client.synced(60_000);
		return { origin: client.provider, destroy: () => client.destroy() };
	}
	const provider = connect(request.ws, docName, request.token, doc);
	await synced(provider, 60_000);
	return { origin: provider, destroy: () => provider.destroy() };
}

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();

let clients: Client[] = [];
let byDoc: Client[][] = [];
let settings: Extract<ClientRequest, { type: 'open' }> | undefined;
let random: () => number = Math.random;
/** `${clientID}:${clock after the edit}` → when it was sent. */
const sentAt = new Map<string, number>();
let measuring = false;
let current: WindowResult | undefined;

async function open(request: Extract<ClientRequest, { type: 'open' }>): Promise<void> {
	settings = request;
	random = seededRandom(request.seed);
	// Every y-websocket provider adds a process 'exit' listener (it clears its awareness there).
	process.setMaxListeners(0);
	const docNames = Array.from({ length: request.docs }, () => `materials:${crypto.randomUUID()}`);
	// Connect in batches: a 500-socket SYN burst overflows the default listen backlog on small machines.
	for (let start = 0; start < request.connections; start += 100) {
		const batch: Array<Promise<Client>> = [];
		for (let i = start; i < Math.min(request.connections, start + 100); i++) {
			const docName = docNames[i % request.docs] as string;
			const doc = new Y.Doc();
			const opened = openClient(request, docName, doc);
			const list = new MaterialListDoc(doc, docName.slice('materials:'.length), {
				// The logged-in user's own id: entries stamped as anyone else are refused and undone by
				// the write guard (docs/architecture.md "Who may do what"), which would measure the refusal path instead.
				writer: { userId: request.userId, deviceId: `bench-${i}`, role: 'OWNER' },
				clock: new HybridClock()
			});
			const client: Client = { doc, origin: undefined, list, destroy: () => {} };
			doc.on('update', (update: Uint8Array, origin: unknown) => {
				if (origin !== client.origin || !measuring || !current) return;
				const now = performance.now();
				for (const [client, to] of Y.parseUpdateMeta(update).to) {
					const at = sentAt.get(`${client}:${to}`);
					if (at === undefined) continue;
					current.latencies.push(now - at);
					current.deliveries++;
				}
			});
			batch.push(
				opened.then(({ origin, destroy }) => {
					client.origin = origin;
					client.destroy = destroy;
					return client;
				})
			);
		}
		clients.push(...(await Promise.all(batch)));
	}
	byDoc = docNames.map((_, d) => clients.filter((_, i) => i % request.docs === d));
}

/**
 * The edit of slot `slot`: document `slot mod docs` (documents in turn, so edits are spread evenly
 * over time), from a random one of its clients — mostly a quantity change on an existing material,
 * sometimes a new material.
 */
function edit(slot: number, result: WindowResult, measure: boolean): void {
	const group = byDoc[slot % byDoc.length] as Client[];
	const client = group[Math.floor(random() * group.length)] as Client;
	const ids = client.list.ids();
	const id = ids.length > 0 && random() < 0.8 ? ids[Math.floor(random() * ids.length)] : undefined;
	if (id) client.list.require(id).set({ quantity: Math.floor(random() * 100) });
	else client.list.add({ name: `m${slot}`, quantity: 1, unit: 'pcs' });
	result.edits++;
	if (!measure) return;
	const { doc } = client;
	sentAt.set(`${doc.clientID}:${Y.getState(doc.store, doc.clientID)}`, performance.now());
	result.expected += group.length - 1;
}

async function load(ms: number, measure: boolean): Promise<WindowResult> {
	if (!settings) throw new Error('load before open');
	const { rate, slackMs } = settings;
	const result: WindowResult = {
		edits: 0,
		missed: 0,
		late: 0,
		deliveries: 0,
		expected: 0,
		latencies: [],
		sendingMs: 0,
		loopP99Ms: 0,
		loopMaxMs: 0
	};
	current = result;
	measuring = measure;
	const interval = 1000 / rate;
	const slots = Math.floor(ms / interval);
	let slot = 0;
	delay.reset();
	const started = performance.now();
	await new Promise<void>((resolve) => {
		const timer = setInterval(() => {
			const now = performance.now();
			const due = Math.min(slots, Math.floor((now - started) / interval) + 1);
			for (; slot < due; slot++) {
				const lateBy = now - (started + slot * interval);
				if (lateBy > slackMs) {
					result.missed++;
					continue;
				}
				if (lateBy > interval) result.late++;
				edit(slot, result, measure);
			}
			if (slot >= slots) {
				clearInterval(timer);
				resolve();
			}
		}, 1);
	});
	result.sendingMs = performance.now() - started;
	// Let the last edits' deliveries land (bounded) before the window ends.
	const deadline = performance.now() + 5_000;
	while (result.deliveries < result.expected && performance.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	measuring = false;
	sentAt.clear();
	current = undefined;
	result.loopP99Ms = delay.percentile(99) / 1e6;
	result.loopMaxMs = delay.max / 1e6;
	return result;
}

async function handle(request: ClientRequest): Promise<ClientReply> {
	switch (request.type) {
		case 'open':
			await open(request);
			return { id: request.id, type: 'opened' };
		case 'load':
			return { id: request.id, type: 'window', result: await load(request.ms, request.measure) };
		case 'gc': {
			const gc = (globalThis as { gc?: () => void }).gc;
			if (!gc) throw new Error('run the bench client with --expose-gc');
			const started = performance.now();
			gc();
			const ms = performance.now() - started;
			return { id: request.id, type: 'collected', ms, heapMB: process.memoryUsage().heapUsed / 2 ** 20 };
		}
		case 'close':
			for (const c of clients) c.destroy();
			clients = [];
			return { id: request.id, type: 'closed' };
	}
}

process.on('message', (request: ClientRequest) => {
	handle(request).then(
		(reply) => process.send?.(reply),
		(error: unknown) =>
			process.send?.({ id: request.id, type: 'error', message: String((error as Error)?.stack ?? error) })
	);
});
// The parent going away (crash, Ctrl-C) ends this process too.
process.on('disconnect', () => process.exit(0));
