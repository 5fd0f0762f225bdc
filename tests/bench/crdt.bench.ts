/**
 * CRDT benchmark (README "Performance"; measured here, never timed in tests): `npm run bench:crdt`.
 *
 * A material list of 1,000 materials, edited 10,000 times by 10 devices that exchange their
 * updates as they go — each device receives the others' updates in batches, as a phone on a
 * flaky connection does. Then: the size of the document as stored, and how long a client or the
 * server takes to load it, from the raw update log and from a compacted snapshot.
 *
 * Then what the data model costs a RECEIVING device: the same field edits made once through the
 * product's entries (`MaterialListDoc` / `Entity.set`: a register entry per write, docs: crdt/SPEC.md)
 * and once as plain Y.Map keys (`material.set(field, value)`), in the same run; each edit's update is
 * applied to a fresh replica holding the list, timed by process CPU (user + system), with and without
 * reading the edited material back; bytes per edit are the updates' sizes and the document's growth.
 *
 * Seeded (BENCH_SEED=<n> to replay the same edit sequence); BENCH_PART=receive runs only the
 * receiving-device part. Prints no verdicts, only figures.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import * as Y from 'yjs';
import { MaterialListDoc } from '../../crdt/documents.ts';
import type { Entity } from '../../crdt/entity.ts';
import { type Replica, replica } from '../../crdt/test-support.ts';
import { seededRandom } from '../support/random.ts';

const JOB_ID = '00000000-0000-4000-8000-0000000000b1';
const DEVICES = 10;
const MATERIALS = 1_000;
const EDITS = 10_000;
/** A device takes in what the others sent every this many operations (all devices together). */
const SYNC_EVERY = 25;
/** Load timings are the median of this many runs. */
const REPETITIONS = 5;

const NAMES = ['Nails', 'Tarp', 'Shingles', 'Flashing', 'Gutter', 'Sealant', 'Screws', 'Plywood'];
const UNITS = ['box', 'roll', 'pcs', 'm', 'kg'];
const NOTES = ['check size with the owner', 'leftover from last job', 'buy at the yard', 'wrong colour'];

interface Device {
	readonly replica: Replica;
	readonly list: MaterialListDoc;
	inbox: Uint8Array[];
}

const REMOTE = Symbol('remote');

function main(): void {
	const seed = Number(process.env.BENCH_SEED ?? Math.floor(Math.random() * 2 ** 31));
	const random = seededRandom(seed);
	const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
	const cpus = os.cpus();
	console.log(`crdt bench · seed ${seed} (BENCH_SEED=${seed} to replay)`);
	console.log(
		`machine: ${cpus[0]?.model ?? 'unknown cpu'} × ${cpus.length}, node ${process.version}, ${os.platform()} ${os.arch()}, load average ${os
			.loadavg()
			.map((l) => l.toFixed(2))
			.join(' ')} (a shared machine: timings are noisy)`
	);

	if (process.env.BENCH_PART === 'receive') {
		remoteEditCost(seed);
		return;
	}

	// ---- edits, replicated as they go ------------------------------------------------------
	const log: Uint8Array[] = [];
	const devices: Device[] = Array.from({ length: DEVICES }, (_, i) => {
		const r = replica(`user${i}`, i === 0 ? 'OWNER' : 'WORKER');
		r.doc.clientID = 1 + Math.floor(random() * 2 ** 30); // clientIDs from the seed, for replay
		return { replica: r, list: new MaterialListDoc(r.doc, JOB_ID, r.ctx), inbox: [] };
	});
	for (const [i, device] of devices.entries()) {
		device.replica.doc.on('update', (update: Uint8Array, origin: unknown) => {
			if (origin === REMOTE) return;
			log.push(update);
			for (const [j, other] of devices.entries()) if (j !== i) other.inbox.push(update);
		});
	}
	const drain = () => {
		for (const device of devices) {
			for (const update of device.inbox) Y.applyUpdate(device.replica.doc, update, REMOTE);
			device.inbox = [];
		}
	};

	let editMs = 0;
	let opCount = 0;
	const timed = (work: () => void) => {
		const start = performance.now();
		work();
		editMs += performance.now() - start;
		if (++opCount % SYNC_EVERY === 0) drain();
	};

	const wallStart = performance.now();
	for (let i = 0; i < MATERIALS; i++) {
		const device = pick(devices);
		timed(() => {
			device.list.add({ name: pick(NAMES), quantity: Math.floor(random() * 20), unit: pick(UNITS) });
		});
	}
	const addMs = editMs;
	editMs = 0;
	for (let i = 0; i < EDITS; i++) {
		const device = pick(devices);
		const ids = device.list.ids();
		const material = device.list.require(pick(ids));
		timed(() => edit(material, random, pick));
	}
	drain();
	const wallMs = performance.now() - wallStart;

	// ---- sizes ------------------------------------------------------------------------------
	const source = devices[0]?.replica.doc as Y.Doc;
	const logBytes = log.reduce((sum, u) => sum + u.byteLength, 0);
	const liveUpdate = Y.encodeStateAsUpdate(source);
	const compacted = compact(log, true);
	const noGc = compact(log, false);

	// ---- loading ----------------------------------------------------------------------------
	const loadRawLog = median(() =>
		load((doc) => {
			for (const update of log) Y.applyUpdate(doc, update);
		})
	);
	const loadLive = median(() => load((doc) => Y.applyUpdate(doc, liveUpdate)));
	const loadCompacted = median(() => load((doc) => Y.applyUpdate(doc, compacted)));
	const compactMs = median(() => {
		const start = performance.now();
		compact(log, true);
		return performance.now() - start;
	});
	const materialsRead = readList(compacted).length;

	const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
	const ms = (value: number) => `${value.toFixed(1)} ms`;
	const rate = (ops: number, millis: number) =>
		`${Math.round((ops / millis) * 1000).toLocaleString('en-US')} ops/s`;
	table([
		['material adds (local)', `${MATERIALS.toLocaleString('en-US')} adds`, rate(MATERIALS, addMs)],
		['edits (local)', `${EDITS.toLocaleString('en-US')} edits`, rate(EDITS, editMs)],
		[
			'edits + replication to 9 devices',
			`${(MATERIALS + EDITS).toLocaleString('en-US')} ops, ${ms(wallMs)}`,
			rate(MATERIALS + EDITS, wallMs)
		],
		['raw update log', `${log.length.toLocaleString('en-US')} updates`, kb(logBytes)],
		['encodeStateAsUpdate (a device)', 'gc on, as synced', kb(liveUpdate.byteLength)],
		['compacted snapshot', 'fresh doc, gc on, re-encoded', kb(compacted.byteLength)],
		['snapshot without gc', 'fresh doc, gc off', kb(noGc.byteLength)],
		['compaction pass', `median of ${REPETITIONS}`, ms(compactMs)],
		['load: raw log, one update at a time', `+ list(), median of ${REPETITIONS}`, ms(loadRawLog)],
		['load: device encoded update', `+ list(), median of ${REPETITIONS}`, ms(loadLive)],
		['load: compacted snapshot', `+ list(), median of ${REPETITIONS}`, ms(loadCompacted)]
	]);
	console.log(
		`(${materialsRead} materials read back; ${devices.length} devices converged: ${converged(devices)})`
	);
	remoteEditCost(seed);
}

/** Materials and field edits of the receiving-device comparison. */
const REMOTE_MATERIALS = 200;
const REMOTE_EDITS = 5_000;

/** One edit both models make: which material, which fields (scalar registers only). */
interface FieldEdit {
	material: number;
	values: Record<string, string | number | boolean>;
}

/** The updates one model produced: the list's creation, then one update per edit. */
interface Recorded {
	ids: string[];
	setup: Uint8Array[];
	edits: Uint8Array[];
}

function record(
	make: (doc: Y.Doc) => { add(i: number): string; edit(id: string, e: FieldEdit): void },
	edits: readonly FieldEdit[]
): Recorded {
	const doc = new Y.Doc();
	const updates: Uint8Array[] = [];
	doc.on('update', (update: Uint8Array) => updates.push(update));
	const model = make(doc);
	const ids = Array.from({ length: REMOTE_MATERIALS }, (_, i) => model.add(i));
	const setup = updates.splice(0);
	for (const e of edits) model.edit(ids[e.material] as string, e);
	if (updates.length !== edits.length) throw new Error(`${updates.length} updates for ${edits.length} edits`);
	return { ids, setup, edits: updates };
}

/** Repetitions per measure (fresh receivers each), after one discarded warm-up repetition. */
const RECEIVE_REPETITIONS = 9;
/** Within a repetition the two models take this many turns each at applying the edits. */
const TURNS = 20;
/** Edits of the whole-list row: after each, all REMOTE_MATERIALS are re-read, as the app's list does. */
const LIST_READ_EDITS = 250;

/** One model's receiving side: its recorded updates and what runs after each applied edit. */
interface Pass {
	readonly rec: Recorded;
	/** Run after each applied edit (`index`: which edit) when given. */
	readonly read?: (doc: Y.Doc, index: number) => unknown;
}

/** A fresh replica holding the list (the setup updates applied), and its encoded size then. */
function receiver(pass: Pass): { doc: Y.Doc; before: number } {
	const doc = new Y.Doc();
	for (const update of pass.rec.setup) Y.applyUpdate(doc, update, REMOTE);
	return { doc, before: Y.encodeStateAsUpdate(doc).byteLength };
}

/** Applies edits `from`…`to` (exclusive) to `doc`, reading after each; the process CPU µs used. */
function applyTurn(pass: Pass, doc: Y.Doc, from: number, to: number): number {
	const updates = pass.rec.edits;
	const read = pass.read;
	const start = process.cpuUsage();
	for (let i = from; i < to; i++) {
		Y.applyUpdate(doc, updates[i] as Uint8Array, REMOTE);
		if (read) read(doc, i);
	}
	const used = process.cpuUsage(start);
	return used.user + used.system;
}

/**
 * The same measure for both models, interleaved: each repetition gives each model a fresh receiver,
 * and the two apply the edits in TURNS turns each (who goes first alternating), so load that
 * drifts over the run — a shared machine — and GC work left by a turn fall on both alike. CPU per
 * applied edit is the median over repetitions; the ratio is the median of the repetitions' own
 * ratios, with their range.
 */
function compare(ours: Pass, plain: Pass, edits: number) {
	const runs: Array<{ ours: number; plain: number }> = [];
	let grown = { ours: 0, plain: 0 };
	for (let r = -1; r < RECEIVE_REPETITIONS; r++) {
		const o = receiver(ours);
		const p = receiver(plain);
		let oursUs = 0;
		let plainUs = 0;
		const turnEdits = Math.ceil(edits / TURNS);
		for (let from = 0, turn = 0; from < edits; from += turnEdits, turn++) {
			const to = Math.min(edits, from + turnEdits);
			if ((turn + r) % 2 === 0) {
				oursUs += applyTurn(ours, o.doc, from, to);
				plainUs += applyTurn(plain, p.doc, from, to);
			} else {
				plainUs += applyTurn(plain, p.doc, from, to);
				oursUs += applyTurn(ours, o.doc, from, to);
			}
		}
		// r = -1 is the warm-up.
		if (r >= 0) runs.push({ ours: oursUs / edits, plain: plainUs / edits });
		grown = {
			ours: Y.encodeStateAsUpdate(o.doc).byteLength - o.before,
			plain: Y.encodeStateAsUpdate(p.doc).byteLength - p.before
		};
	}
	const mid = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)] as number;
	const ratios = runs.map((run) => run.ours / run.plain).sort((x, y) => x - y);
	return {
		ours: mid(runs.map((run) => run.ours)),
		plain: mid(runs.map((run) => run.plain)),
		ratio: mid(ratios.slice()),
		ratioRange: [ratios[0] as number, ratios.at(-1) as number] as const,
		grown
	};
}

/** Its own stream of the seed, so `BENCH_PART=receive` (this part alone) replays the same edits. */
function remoteEditCost(seed: number): void {
	const random = seededRandom(seed + 1);
	const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
	const edits: FieldEdit[] = Array.from({ length: REMOTE_EDITS }, () => {
		const roll = random();
		const values: FieldEdit['values'] =
			roll < 0.45
				? { quantity: Math.floor(random() * 50) }
				: roll < 0.75
					? { purchased: random() < 0.7 }
					: roll < 0.85
						? { name: pick(NAMES) }
						: roll < 0.9
							? { unit: pick(UNITS) }
							: { quantity: Math.floor(random() * 50), unit: pick(UNITS), purchased: false };
		return { material: Math.floor(random() * REMOTE_MATERIALS), values };
	});
	const materials = edits.map((e) => e.material);
	const writer = replica('sender', 'OWNER');
	const ours = record((doc) => {
		const list = new MaterialListDoc(doc, JOB_ID, writer.ctx);
		return {
			add: (i) => list.add({ name: NAMES[i % NAMES.length], quantity: i, unit: UNITS[i % UNITS.length] }).id,
			edit: (id, e) => list.require(id).set(e.values)
		};
	}, edits);
	const plain = record((doc) => {
		const root = doc.getMap<Y.Map<unknown>>('materials');
		return {
			add: (i) => {
				const id = crypto.randomUUID();
				doc.transact(() => {
					const map = new Y.Map<unknown>();
					root.set(id, map);
					for (const [k, v] of Object.entries({
						name: NAMES[i % NAMES.length],
						quantity: i,
						unit: UNITS[i % UNITS.length],
						purchased: false,
						createdAt: Date.now()
					}))
						map.set(k, v);
				});
				return id;
			},
			edit: (id, e) =>
				doc.transact(() => {
					const map = root.get(id) as Y.Map<unknown>;
					for (const [k, v] of Object.entries(e.values)) map.set(k, v);
				})
		};
	}, edits);
	const reader = replica('receiver');
	const readOne = (doc: Y.Doc, i: number) =>
		new MaterialListDoc(doc, JOB_ID, reader.ctx).read(ours.ids[materials[i] as number] as string);
	const readOnePlain = (doc: Y.Doc, i: number) =>
		(doc.getMap('materials').get(plain.ids[materials[i] as number] as string) as Y.Map<unknown>).toJSON();
	// What the app's material list does on every document update (src/lib/job/MaterialList.svelte).
	const readAll = (doc: Y.Doc) => new MaterialListDoc(doc, JOB_ID, reader.ctx).list();
	const readAllPlain = (doc: Y.Doc) => doc.getMap('materials').toJSON();
	const apply = compare({ rec: ours }, { rec: plain }, REMOTE_EDITS);
	const withRead = compare({ rec: ours, read: readOne }, { rec: plain, read: readOnePlain }, REMOTE_EDITS);
	const withList = compare({ rec: ours, read: readAll }, { rec: plain, read: readAllPlain }, LIST_READ_EDITS);
	const mean = (updates: readonly Uint8Array[]) =>
		updates.reduce((sum, u) => sum + u.byteLength, 0) / updates.length;
	const us = (value: number) => `${value.toFixed(1)} µs`;
	const bytes = (value: number) => `${value.toFixed(1)} B`;
	const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
	const xr = (c: ReturnType<typeof compare>) =>
		`${c.ratio.toFixed(2)}× (${c.ratioRange[0].toFixed(2)}–${c.ratioRange[1].toFixed(2)})`;
	const rows: Array<[string, string, string, string]> = [
		['CPU per applied remote edit', us(apply.ours), us(apply.plain), xr(apply)],
		['CPU per applied edit + read of the material', us(withRead.ours), us(withRead.plain), xr(withRead)],
		[
			`CPU per applied edit + read of all ${REMOTE_MATERIALS} (first ${LIST_READ_EDITS} edits)`,
			us(withList.ours),
			us(withList.plain),
			xr(withList)
		],
		[
			'update bytes per edit (on the wire)',
			bytes(mean(ours.edits)),
			bytes(mean(plain.edits)),
			x(mean(ours.edits), mean(plain.edits))
		],
		[
			'document growth per edit (encoded)',
			bytes(apply.grown.ours / REMOTE_EDITS),
			bytes(apply.grown.plain / REMOTE_EDITS),
			x(apply.grown.ours, apply.grown.plain)
		]
	];
	console.log(
		`\nreceiving device: ${REMOTE_EDITS.toLocaleString('en-US')} field edits of ${REMOTE_MATERIALS} materials, each its own update, applied to a replica holding the list (${RECEIVE_REPETITIONS} repetitions after a warm-up, each a fresh receiver per model, the two taking ${TURNS} turns each; process CPU, user + system, median; ratio: median of the repetitions' own ratios, and their range)`
	);
	const header = ['measure', 'product entries', 'plain Y.Map keys', 'entries / plain'];
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
	const line = (cells: readonly string[]) =>
		`| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
	console.log(line(header));
	console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
	for (const row of rows) console.log(line(row));
}

/** One random edit of the kinds a crew makes, weighted towards quantities and ticks. */
function edit(material: Entity, random: () => number, pick: <T>(items: readonly T[]) => T): void {
	const roll = random();
	if (roll < 0.3) material.set({ quantity: Math.floor(random() * 50) });
	else if (roll < 0.5) material.set({ purchased: random() < 0.7 });
	else if (roll < 0.6) material.set({ name: pick(NAMES) });
	else if (roll < 0.65) material.set({ unit: pick(UNITS) });
	else if (roll < 0.75)
		material.set({ quantity: Math.floor(random() * 50), unit: pick(UNITS), purchased: false });
	else if (roll < 0.9) material.appendNote(pick(NOTES));
	else if (roll < 0.96) {
		const note = material.notes()[0];
		if (note) material.setNoteDeleted(note.id, !note.deleted);
		else material.appendNote(pick(NOTES));
	} else if (material.get('deleted') === true) material.restore();
	else material.remove();
}

/** The compaction pass: load the log into a fresh doc and re-encode it. */
function compact(log: readonly Uint8Array[], gc: boolean): Uint8Array {
	const doc = new Y.Doc({ gc });
	doc.transact(() => {
		for (const update of log) Y.applyUpdate(doc, update);
	});
	return Y.encodeStateAsUpdate(doc);
}

/** Loads into a fresh doc and reads the whole list, as a client opening the job does. */
function load(fill: (doc: Y.Doc) => void): number {
	const start = performance.now();
	const doc = new Y.Doc();
	fill(doc);
	const read = readListOf(doc);
	const elapsed = performance.now() - start;
	if (read.length !== MATERIALS) throw new Error(`loaded ${read.length} materials, expected ${MATERIALS}`);
	return elapsed;
}

function readList(update: Uint8Array) {
	const doc = new Y.Doc();
	Y.applyUpdate(doc, update);
	return readListOf(doc);
}

function readListOf(doc: Y.Doc) {
	const reader = replica('reader');
	return new MaterialListDoc(doc, JOB_ID, reader.ctx).list();
}

function converged(devices: readonly Device[]): boolean {
	const first = JSON.stringify(devices[0]?.list.list());
	return devices.every((d) => JSON.stringify(d.list.list()) === first);
}

function median(run: () => number): number {
	const times = Array.from({ length: REPETITIONS }, run).sort((a, b) => a - b);
	return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

function table(rows: readonly (readonly [string, string, string])[]): void {
	const header = ['measure', 'detail', 'result'] as const;
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
	const line = (cells: readonly string[]) =>
		`| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
	console.log(line(header));
	console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
	for (const row of rows) console.log(line(row));
}

main();
