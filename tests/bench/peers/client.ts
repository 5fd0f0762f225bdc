// One load-generator process of `npm run bench:peers`, driven by the bench over IPC; it holds the
// replicas of ONE server only (its GC pauses can only land in that server's windows). Every server
// gets the same client work: edits through the product's crdt/ views (`MaterialListDoc`), on a
// fixed send schedule (slot k at start + k / rate; a slot reached more than `slackMs` late is
// missed, never sent, so no catch-up burst). Latency is from the send to the arrival on each other
// replica of the document (one clock: all replicas of a server live here). Only the transport
// differs, by `dialect`:
//   hocuspocus  — @hocuspocus/provider (our /collab, bare Hocuspocus, Hocuspocus + database)
//   y-websocket — the y-websocket provider (@y/websocket-server)
//   relay       — a raw `ws` socket sending each local update as it is, applying what arrives, and
//                 answering the relay's empty "a peer joined" message with its whole state
//                 (relay-server.ts keeps no state to send a joiner).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as Y from 'yjs';
import { HybridClock, MaterialListDoc } from '../../../crdt/index.ts';
import { parseDurableAck } from '../../../wire/durability.ts';
import { connect, synced } from '../../integration/support/writers.ts';
import { YClient } from '../../integration/support/y-websocket-client.ts';
import { seededRandom } from '../../support/random.ts';

export type Dialect = 'hocuspocus' | 'y-websocket' | 'relay';

export interface Target {
	/** Hocuspocus: the `/collab`-style url; y-websocket and relay: the base the name is appended to. */
	url: string;
	dialect: Dialect;
	token: string;
	userId: string;
	seed: number;
	/** The server sends `khs:durable` acknowledgements (ours): time them. */
	durableAcks?: boolean;
}

export type ClientRequest = { id: number } & (
	| ({ type: 'target' } & Target)
	/** Grows to `connections` replicas over `docs` documents (created on first use, each seeded). */
	| { type: 'open'; connections: number; docs: number }
	/**
	 * Ages every open document: its first replica makes `pastClients` edits, each as a new Yjs client
	 * (an app session is a new Y.Doc, so a job edited for months holds thousands of clients).
	 */
	| { type: 'age'; pastClients: number }
	| { type: 'load'; ms: number; rate: number; slackMs: number; measure: boolean }
	/** Storm, part 1: open, sync, go offline, edit offline. Part 2 (`storm-go`): reconnect all. */
	| { type: 'storm-prepare'; clients: number; docs: number; offlineEdits: number }
	| { type: 'storm-go'; timeoutMs: number }
	| { type: 'gc' }
	| { type: 'close' }
);

export interface WindowResult {
	edits: number;
	missed: number;
	deliveries: number;
	expected: number;
	latencies: number[];
	/**
	 * Our server only (`khs:durable`, wire/durability.ts): from an edit's send to the acknowledgement
	 * that covers it arriving back at its writer. Empty for the peers, which acknowledge nothing.
	 */
	durableLatencies: number[];
	sendingMs: number;
	/** The load generator's own event-loop delay: a stall here delays every latency it measures. */
	loopP99Ms: number;
	loopMaxMs: number;
}

export type ClientReply = { id: number } & (
	| { type: 'ok' }
	| { type: 'window'; result: WindowResult }
	| { type: 'storm'; convergedMs: number }
	| { type: 'error'; message: string }
);

/** Materials each document starts with (added by its first replica, seen by all before load). */
const seedMaterials = 5;
const relayOrigin = Symbol('relay');

interface Replica {
	doc: Y.Doc;
	list: MaterialListDoc;
	/** The transaction origin of updates that came from the server. */
	origin: unknown;
	synced(): Promise<void>;
	/** Closes the connection; resolves once it is closed (a reconnect before that is a no-op). */
	goOffline(): Promise<void>;
	goOnline(): void;
	destroy(): void;
}

let target: Target | undefined;
let random: () => number = Math.random;
let docNames: string[] = [];
let replicas: Replica[] = [];
let byDoc: Replica[][] = [];
/** `${clientID}:${clock after the edit}` → when it was sent. */
const sentAt = new Map<string, number>();
/** Per writer's clientID, its measured edits not yet acknowledged durable, in clock order. */
const unacked = new Map<number, Array<{ clock: number; at: number }>>();
let current: WindowResult | undefined;
/** Called after any replica applied an update from the server (storm convergence checks). */
let onRemote: ((replica: Replica) => void) | undefined;

function relayReplica(url: string, name: string, doc: Y.Doc): Omit<Replica, 'list'> {
	let ws: WebSocket | undefined;
	let opened: Promise<void> = Promise.resolve();
	const sendState = () =>
		ws?.readyState === WebSocket.OPEN && ws.send(Y.encodeStateAsUpdate(doc) as Uint8Array<ArrayBuffer>);
	const open = () => {
		const socket = new WebSocket(`${url}/${name}`);
		socket.binaryType = 'arraybuffer';
		ws = socket;
		opened = new Promise((resolve, reject) => {
			socket.onopen = () => {
				sendState();
				resolve();
			};
			socket.onerror = () => reject(new Error(`relay socket of ${name} failed`));
		});
		socket.onmessage = (event: MessageEvent<ArrayBuffer>) => {
			if (event.data.byteLength === 0) sendState();
			else Y.applyUpdate(doc, new Uint8Array(event.data), relayOrigin);
		};
	};
	doc.on('update', (update: Uint8Array, origin: unknown) => {
		if (origin !== relayOrigin && ws?.readyState === WebSocket.OPEN)
			ws.send(update as Uint8Array<ArrayBuffer>);
	});
	open();
	return {
		doc,
		origin: relayOrigin,
		synced: () => opened,
		goOffline: () =>
			new Promise<void>((resolve) => {
				if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
				ws.addEventListener('close', () => resolve());
				ws.close();
			}),
		goOnline: open,
		destroy: () => ws?.close()
	};
}

function transport(t: Target, name: string, doc: Y.Doc): Omit<Replica, 'list'> {
	if (t.dialect === 'relay') return relayReplica(t.url, name, doc);
	if (t.dialect === 'y-websocket') {
		const client = new YClient(t.url, name, t.token, doc);
		return {
			doc,
			origin: client.provider,
			synced: () => client.synced(60_000),
			goOffline: () =>
				new Promise<void>((resolve) => {
					client.provider.on(
						'status',
						({ status }: { status: string }) => status === 'disconnected' && resolve()
					);
					client.provider.disconnect();
					if (!client.provider.wsconnected && !client.provider.ws) resolve();
				}),
			goOnline: () => void client.provider.connect(),
			destroy: () => client.destroy()
		};
	}
	const provider = connect(t.url, name, t.token, doc);
	provider.on('stateless', ({ payload }: { payload: string }) => {
		const durable = parseDurableAck(payload);
		if (durable) onDurable(doc.clientID, durable.get(doc.clientID) ?? 0);
	});
	return {
		doc,
		origin: provider,
		synced: () => synced(provider, 60_000),
		goOffline: () =>
			new Promise<void>((resolve) => {
				const socket = provider.configuration.websocketProvider;
				socket.on('status', ({ status }: { status: string }) => status === 'disconnected' && resolve());
				provider.disconnect();
				if (socket.status === 'disconnected') resolve();
			}),
		goOnline: () => void provider.connect(),
		destroy: () => provider.destroy()
	};
}

function newReplica(t: Target, name: string, index: number): Replica {
	const doc = new Y.Doc();
	const replica = transport(t, name, doc) as Replica;
	// The logged-in user's own id: our write guard refuses (and undoes) entries stamped as anyone else.
	replica.list = new MaterialListDoc(doc, name.slice('materials:'.length), {
		writer: { userId: t.userId, deviceId: `bench-${index}`, role: 'OWNER' },
		clock: new HybridClock()
	});
	doc.on('update', (update: Uint8Array, origin: unknown) => {
		if (origin !== replica.origin) return;
		onRemote?.(replica);
		if (!current) return;
		const now = performance.now();
		for (const [client, to] of Y.parseUpdateMeta(update).to) {
			const at = sentAt.get(`${client}:${to}`);
			if (at === undefined) continue;
			current.latencies.push(now - at);
			current.deliveries++;
		}
	});
	return replica;
}

/** An acknowledgement says the writer's structs below `durableClock` are stored. */
function onDurable(clientId: number, durableClock: number): void {
	const pending = unacked.get(clientId);
	if (!pending || !current) return;
	const now = performance.now();
	while (pending.length > 0 && (pending[0] as { clock: number }).clock <= durableClock) {
		current.durableLatencies.push(now - (pending.shift() as { at: number }).at);
	}
}

/**
 * Resolves once `done(r)` holds for every replica of `among`, re-checking a replica after each update
 * it applies from the server (bounded by `ms`).
 */
function untilAll(among: Replica[], done: (r: Replica) => boolean, what: string, ms: number): Promise<void> {
	const pending = new Set(among.filter((r) => !done(r)));
	if (pending.size === 0) return Promise.resolve();
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			onRemote = undefined;
			reject(new Error(`timed out after ${ms} ms: ${what} (${pending.size} replicas short)`));
		}, ms);
		onRemote = (r) => {
			if (!pending.has(r) || !done(r)) return;
			pending.delete(r);
			if (pending.size > 0) return;
			clearTimeout(timer);
			onRemote = undefined;
			resolve();
		};
	});
}

/** Opens replicas `from`…`to - 1` over `docs` in batches (a SYN burst overflows small backlogs). */
async function openReplicas(t: Target, names: string[], from: number, to: number): Promise<Replica[]> {
	const opened: Replica[] = [];
	for (let start = from; start < to; start += 100) {
		const batch: Replica[] = [];
		for (let i = start; i < Math.min(to, start + 100); i++) {
			batch.push(newReplica(t, names[i % names.length] as string, i));
		}
		await Promise.all(batch.map((r) => r.synced()));
		opened.push(...batch);
	}
	return opened;
}

/** Every document's first replica adds the seed materials; resolves once all replicas have them. */
async function seedDocuments(groups: Replica[][]): Promise<void> {
	for (const group of groups) {
		const first = group[0];
		if (!first || first.list.ids().length >= seedMaterials) continue;
		for (let m = 0; m < seedMaterials; m++) first.list.add({ name: `seed${m}`, quantity: 1, unit: 'pcs' });
	}
	await untilAll(
		groups.flat(),
		(r) => r.list.ids().length >= seedMaterials,
		'every replica has the seed materials',
		60_000
	);
}

async function open(connections: number, docs: number): Promise<void> {
	if (!target) throw new Error('open before target');
	if (docNames.length === 0)
		docNames = Array.from({ length: docs }, () => `materials:${crypto.randomUUID()}`);
	if (docNames.length !== docs) throw new Error('a client process serves one document set');
	replicas.push(...(await openReplicas(target, docNames, replicas.length, connections)));
	byDoc = docNames.map((_, d) => replicas.filter((_, i) => i % docs === d));
	await seedDocuments(byDoc);
}

/**
 * Each document's first replica writes `pastClients` quantity changes, one per new clientID (what
 * that many app sessions leave behind), in rounds of one edit per document; resolves once every
 * replica holds them all.
 */
async function age(pastClients: number): Promise<void> {
	const writers = byDoc.map((group) => group[0]).filter((r): r is Replica => r !== undefined);
	const before = new Map(writers.map((r) => [r, r.doc.store.clients.size]));
	for (let session = 0; session < pastClients; session++) {
		for (const writer of writers) {
			writer.doc.clientID = Math.floor(random() * 0xffffffff);
			const ids = writer.list.ids();
			writer.list.require(ids[session % ids.length] as string).set({ quantity: session });
		}
		// A pause per round so the servers are not sent every session at once (a socket's backlog).
		if (session % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
	}
	const want = new Map(
		byDoc.flatMap((group, d) =>
			group.map((r) => [r, pastClients + (before.get(writers[d] as Replica) ?? 0)] as const)
		)
	);
	await untilAll(
		byDoc.flat(),
		(r) => r.doc.store.clients.size >= (want.get(r) ?? 0),
		'every replica holds every past session',
		300_000
	);
}

/** One edit of the kinds a crew makes: mostly a quantity change, sometimes a new material. */
function edit(replica: Replica, slot: number): void {
	const ids = replica.list.ids();
	const id = ids.length > 0 && random() < 0.8 ? ids[Math.floor(random() * ids.length)] : undefined;
	if (id) replica.list.require(id).set({ quantity: Math.floor(random() * 100) });
	else replica.list.add({ name: `m${slot}`, quantity: 1, unit: 'pcs' });
}

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();

async function load(ms: number, rate: number, slackMs: number, measure: boolean): Promise<WindowResult> {
	const result: WindowResult = {
		edits: 0,
		missed: 0,
		deliveries: 0,
		expected: 0,
		latencies: [],
		durableLatencies: [],
		sendingMs: 0,
		loopP99Ms: 0,
		loopMaxMs: 0
	};
	current = measure ? result : undefined;
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
				if (now - (started + slot * interval) > slackMs) {
					result.missed++;
					continue;
				}
				// Documents in turn (edits spread evenly over time), a random replica of each.
				const group = byDoc[slot % byDoc.length] as Replica[];
				const replica = group[Math.floor(random() * group.length)] as Replica;
				edit(replica, slot);
				result.edits++;
				if (!measure) continue;
				const { doc } = replica;
				const clock = Y.getState(doc.store, doc.clientID);
				const at = performance.now();
				sentAt.set(`${doc.clientID}:${clock}`, at);
				if (target?.durableAcks) {
					const pending = unacked.get(doc.clientID) ?? [];
					pending.push({ clock, at });
					unacked.set(doc.clientID, pending);
				}
				result.expected += group.length - 1;
			}
			if (slot >= slots) {
				clearInterval(timer);
				resolve();
			}
		}, 1);
	});
	result.sendingMs = performance.now() - started;
	// Let the last deliveries land (bounded) before the window closes.
	const deadline = performance.now() + 5_000;
	const acksOwed = () => [...unacked.values()].some((pending) => pending.length > 0);
	while ((result.deliveries < result.expected || acksOwed()) && performance.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	current = undefined;
	sentAt.clear();
	unacked.clear();
	result.loopP99Ms = delay.percentile(99) / 1e6;
	result.loopMaxMs = delay.max / 1e6;
	return result;
}

/** The storm's replicas (anchors excluded) and, per document, the state every replica must reach. */
let storm: { clients: Replica[]; groups: Replica[][]; expected: Map<number, number>[] } | undefined;

async function stormPrepare(clients: number, docs: number, offlineEdits: number): Promise<void> {
	if (!target) throw new Error('storm before target');
	const names = Array.from({ length: docs }, () => `materials:${crypto.randomUUID()}`);
	// One anchor replica per document stays connected throughout, so every server still has the
	// document loaded (and the relay a peer to answer) when the storm hits: the storm measures
	// reconnection, not document loading.
	const anchors = await openReplicas(target, names, 0, docs);
	const stormers = await openReplicas(target, names, docs, docs + clients);
	const all = [...anchors, ...stormers];
	const groups = names.map((_, d) => all.filter((_, i) => i % docs === d));
	await seedDocuments(groups);
	await Promise.all(stormers.map((r) => r.goOffline()));
	for (const r of stormers) for (let e = 0; e < offlineEdits; e++) edit(r, e);
	const expected = groups.map((group) => {
		const merged = new Map<number, number>();
		for (const r of group)
			for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(r.doc)))
				merged.set(client, Math.max(merged.get(client) ?? 0, clock));
		return merged;
	});
	replicas.push(...all);
	storm = { clients: stormers, groups, expected };
}

async function stormGo(timeoutMs: number): Promise<{ convergedMs: number }> {
	if (!storm) throw new Error('storm-go before storm-prepare');
	const { clients, groups, expected } = storm;
	const docOf = new Map(groups.flatMap((group, d) => group.map((r) => [r, d] as const)));
	const covers = (r: Replica) => {
		for (const [client, clock] of expected[docOf.get(r) as number] as Map<number, number>)
			if (Y.getState(r.doc.store, client) < clock) return false;
		return true;
	};
	const started = performance.now();
	for (const r of clients) r.goOnline();
	await untilAll(
		groups.flat(),
		covers,
		`all ${groups.length} documents converged after the storm`,
		timeoutMs
	);
	const convergedMs = performance.now() - started;
	storm = undefined;
	return { convergedMs };
}

async function handle(request: ClientRequest): Promise<ClientReply> {
	const { id } = request;
	switch (request.type) {
		case 'target': {
			const { type: _type, id: _id, ...t } = request;
			target = t;
			random = seededRandom(t.seed);
			// Every y-websocket provider adds a process 'exit' listener (it clears its awareness there).
			process.setMaxListeners(0);
			return { id, type: 'ok' };
		}
		case 'open':
			await open(request.connections, request.docs);
			return { id, type: 'ok' };
		case 'age':
			await age(request.pastClients);
			return { id, type: 'ok' };
		case 'load':
			return {
				id,
				type: 'window',
				result: await load(request.ms, request.rate, request.slackMs, request.measure)
			};
		case 'storm-prepare':
			await stormPrepare(request.clients, request.docs, request.offlineEdits);
			return { id, type: 'ok' };
		case 'storm-go':
			return { id, type: 'storm', ...(await stormGo(request.timeoutMs)) };
		case 'gc':
			(globalThis as { gc?: () => void }).gc?.();
			return { id, type: 'ok' };
		case 'close':
			for (const r of replicas) r.destroy();
			replicas = [];
			byDoc = [];
			docNames = [];
			return { id, type: 'ok' };
	}
}

process.on('message', (request: ClientRequest) => {
	handle(request).then(
		(reply) => process.send?.(reply),
		(error: unknown) =>
			process.send?.({ id: request.id, type: 'error', message: String((error as Error)?.stack ?? error) })
	);
});
// The bench going away (crash, Ctrl-C) ends this process too.
process.on('disconnect', () => process.exit(0));
