import * as Y from 'yjs';
import { HybridClock, MaterialListDoc } from '../../../crdt/index.ts';
import type { Db } from '../../../server/db/port.ts';
import { createDocStore } from '../../../server/docs/store.ts';
import { synced } from '../../integration/support/writers.ts';
import { CrewDevice, type DeviceEdit } from './devices.ts';
import { type PushedOp, RestPusher } from './rest-client.ts';

/** Where clients connect: a server process or an in-process instance. */
export interface Endpoint {
	ws: string;
	http: string;
}

export interface CrewOptions {
	token: string;
	ownerId: string;
	label: string;
	/** Jobs whose material lists the crew writes (`materials:<jobId>`). */
	jobs: number;
	devicesPerJob: number;
	pushers: number;
	random: () => number;
	/** Per device (index) its wall clock; default Date.now. */
	nowMs?: (deviceIndex: number) => (() => number) | undefined;
}

/** Pace of the load a crew puts on the servers while a fault happens. */
export interface LoadPace {
	/** Each device makes one edit this often. */
	editEveryMs: number;
	/** Each REST client sends its next push this long after the previous one settled. */
	pushEveryMs: number;
}

/** The same state, read the same way from a device and from the database. */
function materialsJson(doc: Y.Doc): string {
	const view = new MaterialListDoc(doc, 'x', {
		writer: { userId: 'reader', deviceId: 'reader', role: 'OWNER' },
		clock: new HybridClock()
	});
	return JSON.stringify(view.list().map(({ jobId: _, ...m }) => m));
}

function vectorJson(doc: Y.Doc): string {
	return JSON.stringify([...Y.decodeStateVector(Y.encodeStateVector(doc))].sort((a, b) => a[0] - b[0]));
}

export interface CrewTally {
	editsMade: number;
	editsAcknowledged: number;
	editsPresent: number;
	pushesOk: number;
	pushesPresentOnce: number;
}

/**
 * Several crew devices (websocket, crdt views) and REST clients writing the same jobs' material
 * lists, and the checks the fault record is made of: every edit acknowledged durable and every 2xx
 * push is in the DATABASE (read with the store, no server involved), pushes exactly once, and every
 * device converged to the stored state.
 */
export class Crew {
	readonly devices: CrewDevice[] = [];
	readonly pushers: RestPusher[] = [];
	readonly jobIds: string[];
	readonly errors: unknown[] = [];

	constructor(
		at: Endpoint | Endpoint[],
		private readonly options: CrewOptions
	) {
		const endpoints = Array.isArray(at) ? at : [at];
		this.jobIds = Array.from({ length: options.jobs }, () => crypto.randomUUID());
		let index = 0;
		for (const jobId of this.jobIds) {
			for (let d = 0; d < options.devicesPerJob; d++, index++) {
				const endpoint = endpoints[index % endpoints.length] as Endpoint;
				const nowMs = options.nowMs?.(index);
				this.devices.push(
					new CrewDevice(`materials:${jobId}`, options.token, options.ownerId, `${options.label}-d${index}`, {
						url: endpoint.ws,
						...(nowMs ? { nowMs } : {})
					})
				);
			}
		}
		for (let p = 0; p < options.pushers; p++) {
			const endpoint = endpoints[p % endpoints.length] as Endpoint;
			this.pushers.push(new RestPusher(endpoint.http, options.token, this.jobIds, `${options.label}-p${p}`));
		}
	}

	docNames(): string[] {
		return this.jobIds.map((id) => `materials:${id}`);
	}

	async synced(ms = 20_000): Promise<void> {
		await Promise.all(
			this.devices.map((d) => {
				if (!d.provider) throw new Error(`${d.label} is not connected`);
				return synced(d.provider, ms);
			})
		);
	}

	/** Every device edits on its own timer, every REST client pushes in its own loop, until `stop()`. */
	startLoad(pace: LoadPace): { stop(): Promise<void> } {
		let running = true;
		const random = this.options.random;
		const timers = this.devices.map((device) =>
			setInterval(() => {
				try {
					device.edit(random);
				} catch (error) {
					this.errors.push(error);
				}
			}, pace.editEveryMs)
		);
		const loops = this.pushers.map(async (pusher) => {
			while (running) {
				try {
					await pusher.pushNext();
				} catch (error) {
					this.errors.push(error);
				}
				// Pacing of an honest client, not a wait standing in for a condition.
				await new Promise((resolve) => setTimeout(resolve, pace.pushEveryMs));
			}
		});
		return {
			async stop() {
				running = false;
				for (const timer of timers) clearInterval(timer);
				await Promise.all(loops);
			}
		};
	}

	moveTo(at: Endpoint | Endpoint[]): void {
		const endpoints = Array.isArray(at) ? at : [at];
		const pick = (i: number) => endpoints[i % endpoints.length] as Endpoint;
		this.devices.forEach((d, i) => {
			d.moveTo(pick(i).ws);
		});
		this.pushers.forEach((p, i) => {
			p.moveTo(pick(i).http);
		});
	}

	/**
	 * After the fault: resolves once every edit is acknowledged durable and every push has had a 2xx.
	 * Returns how long that took (the time to recover).
	 */
	async settle(ms = 60_000): Promise<number> {
		const started = performance.now();
		const deadline = started + ms;
		await Promise.all(this.devices.map((d) => d.allDurable(ms)));
		for (const pusher of this.pushers) {
			while (!(await pusher.retryPending())) {
				if (performance.now() > deadline)
					throw new Error(`${pusher.label}: ${pusher.pending} pushes never got a 2xx`);
				await new Promise((resolve) => setTimeout(resolve, 200)); // retry backoff
			}
		}
		return performance.now() - started;
	}

	edits(): DeviceEdit[] {
		return this.devices.flatMap((d) => d.edits);
	}

	acknowledged(): DeviceEdit[] {
		return this.devices.flatMap((d) => d.durableEdits());
	}

	/** Each document exactly as the database holds it (snapshot + log), no server involved. */
	async stored(db: Db): Promise<Map<string, Y.Doc>> {
		const store = createDocStore(db);
		const docs = new Map<string, Y.Doc>();
		for (const name of this.docNames()) {
			const doc = new Y.Doc();
			const state = await store.load(name);
			if (state) Y.applyUpdate(doc, state);
			docs.set(name, doc);
		}
		return docs;
	}

	/** Acknowledged edits the database does not hold (must be empty at EVERY moment). */
	async ackedButMissing(db: Db): Promise<DeviceEdit[]> {
		const acked = this.acknowledged();
		const docs = await this.stored(db);
		return missingEdits(acked, docs);
	}

	/** 2xx pushes the database does not hold exactly once (by material id and by name). */
	async pushesNotOnce(db: Db): Promise<PushedOp[]> {
		const docs = await this.stored(db);
		const bad: PushedOp[] = [];
		const nameCounts = new Map<string, number>();
		for (const doc of docs.values()) {
			for (const name of materialNameEntries(doc).values())
				nameCounts.set(name, (nameCounts.get(name) ?? 0) + 1);
		}
		const ok = this.pushers.flatMap((p) => p.okOps());
		const rows = await db.query<{ id: string }>('SELECT id FROM sync_operations WHERE id = ANY($1)', [
			ok.map((op) => op.opId)
		]);
		const recorded = new Map<string, number>();
		for (const row of rows.rows) recorded.set(row.id, (recorded.get(row.id) ?? 0) + 1);
		for (const op of ok) {
			const doc = docs.get(op.docName);
			const here = doc ? materialNameEntries(doc).get(op.materialId) : undefined;
			if (here !== op.name || nameCounts.get(op.name) !== 1 || recorded.get(op.opId) !== 1) bad.push(op);
		}
		return bad;
	}

	/** Documents where some device differs from the stored state; polls until none or `ms`. */
	async unconverged(db: Db, ms = 30_000): Promise<string[]> {
		const deadline = performance.now() + ms;
		for (;;) {
			const docs = await this.stored(db);
			const differ: string[] = [];
			for (const [name, doc] of docs) {
				const want = materialsJson(doc);
				const wantVector = vectorJson(doc);
				for (const device of this.devices.filter((d) => d.docName === name)) {
					if (materialsJson(device.doc) !== want || vectorJson(device.doc) !== wantVector)
						differ.push(`${name} on ${device.label}`);
				}
			}
			if (differ.length === 0 || performance.now() > deadline) return differ;
			await new Promise((resolve) => setTimeout(resolve, 250)); // poll interval
		}
	}

	async tally(db: Db): Promise<CrewTally> {
		const acked = this.acknowledged();
		const docs = await this.stored(db);
		const missing = new Set(missingEdits(acked, docs));
		const ok = this.pushers.flatMap((p) => p.okOps());
		const notOnce = new Set(await this.pushesNotOnce(db));
		return {
			editsMade: this.edits().length + this.pushers.reduce((n, p) => n + p.ops.length, 0),
			editsAcknowledged: acked.length + ok.length,
			editsPresent: acked.filter((e) => !missing.has(e)).length + ok.filter((op) => !notOnce.has(op)).length,
			pushesOk: ok.length,
			pushesPresentOnce: ok.length - notOnce.size
		};
	}

	destroy(): void {
		for (const device of this.devices) device.disconnect();
	}
}

function materialNameEntries(doc: Y.Doc): Map<string, string> {
	const view = new MaterialListDoc(doc, 'x', {
		writer: { userId: 'reader', deviceId: 'reader', role: 'OWNER' },
		clock: new HybridClock()
	});
	const names = new Map<string, string>();
	for (const id of view.ids()) names.set(id, String(view.read(id)?.name ?? ''));
	return names;
}

/** Edits a state does not hold: its state vector must cover the edit, and an add must be there by name. */
export function missingEdits(edits: DeviceEdit[], docs: Map<string, Y.Doc>): DeviceEdit[] {
	const vectors = new Map<string, Map<number, number>>();
	const names = new Map<string, Map<string, string>>();
	for (const [name, doc] of docs) {
		vectors.set(name, Y.decodeStateVector(Y.encodeStateVector(doc)));
		names.set(name, materialNameEntries(doc));
	}
	return edits.filter((e) => {
		const covered = (vectors.get(e.docName)?.get(e.clientId) ?? 0) >= e.clock;
		const there = e.kind !== 'add' || names.get(e.docName)?.get(e.materialId) === e.name;
		return !covered || !there;
	});
}
