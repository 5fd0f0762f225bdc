/**
 * CRDT benchmark (README "Performance"; measured here, never timed in tests): `npm run bench:crdt`.
 *
 * A material list of 1,000 materials, edited 10,000 times by 10 devices that exchange their
 * updates as they go — each device receives the others' updates in batches, as a phone on a
 * flaky connection does. Then: the size of the document as stored, and how long a client or the
 * server takes to load it, from the raw update log and from a compacted snapshot.
 *
 * Seeded (BENCH_SEED=<n> to replay the same edit sequence); prints no verdicts, only figures.
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
		`machine: ${cpus[0]?.model ?? 'unknown cpu'} × ${cpus.length}, node ${process.version}, ${os.platform()} ${os.arch()}`
	);

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
