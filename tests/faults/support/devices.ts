import type { HocuspocusProvider } from '@hocuspocus/provider';
import * as Y from 'yjs';
import { HybridClock, MaterialListDoc, type WriteContext } from '../../../crdt/index.ts';
import { waitFor } from '../../../server/testing/app.ts';
import { parseDurableAck } from '../../../wire/durability.ts';
import { connect, materialNames } from '../../integration/support/writers.ts';

/** One edit a device made: an add (a new material) or a change (a quantity of one it holds). */
export interface DeviceEdit {
	docName: string;
	kind: 'add' | 'change';
	materialId: string;
	/** For adds: the unique name to find it by. */
	name: string;
	clientId: number;
	/** The device's Y clock after the edit: present wherever a state vector covers it. */
	clock: number;
	/** `performance.now()` when made (to tell edits made during a fault). */
	atMs: number;
}

/**
 * A crew member's device writing one job's material list through the crdt views over the real
 * websocket provider, like tests/integration/support/writers.ts' MaterialWriter, plus what the fault
 * suite needs: an injectable wall clock (a device whose clock is wrong), changes as well as adds,
 * and the time each ack arrived. The Y.Doc outlives connections (`moveTo`), as y-indexeddb keeps it.
 */
export class CrewDevice {
	readonly doc = new Y.Doc();
	readonly edits: DeviceEdit[] = [];
	readonly list: MaterialListDoc;
	provider: HocuspocusProvider | undefined;
	/** Highest own clock any `khs:durable` ack covered, and when it last advanced. */
	durableClock = 0;
	lastAckAtMs = 0;
	#listeners = new Set<() => void>();

	constructor(
		readonly docName: string,
		private readonly token: string,
		userId: string,
		readonly label: string,
		options: { url?: string; nowMs?: () => number } = {}
	) {
		const ctx: WriteContext = {
			writer: { userId, deviceId: `device-${label}`, role: 'OWNER' },
			clock: new HybridClock(options.nowMs)
		};
		this.nowMs = options.nowMs ?? Date.now;
		this.list = new MaterialListDoc(this.doc, docName.slice('materials:'.length), ctx);
		if (options.url) this.provider = this.#open(options.url);
	}

	readonly nowMs: () => number;

	/** The server this device is connected to now. */
	url: string | undefined;

	#open(url: string): HocuspocusProvider {
		this.url = url;
		const provider = connect(url, this.docName, this.token, this.doc);
		provider.on('stateless', ({ payload }: { payload: string }) => {
			const vector = parseDurableAck(payload);
			if (!vector) return;
			const clock = vector.get(this.doc.clientID) ?? 0;
			if (clock <= this.durableClock) return;
			this.durableClock = clock;
			this.lastAckAtMs = performance.now();
			for (const listener of this.#listeners) listener();
		});
		return provider;
	}

	#record(kind: DeviceEdit['kind'], materialId: string, name: string): DeviceEdit {
		const edit: DeviceEdit = {
			docName: this.docName,
			kind,
			materialId,
			name,
			clientId: this.doc.clientID,
			clock: Y.getState(this.doc.store, this.doc.clientID),
			atMs: performance.now()
		};
		this.edits.push(edit);
		return edit;
	}

	/** Adds one material (one Yjs transaction). */
	add(): DeviceEdit {
		const name = `${this.label}-${this.edits.length}`;
		const entity = this.list.add({ name, quantity: 1, unit: 'pcs' }, this.nowMs());
		return this.#record('add', entity.id, name);
	}

	/** Changes the quantity of one of the materials in the list (`pick` in [0,1) chooses which). */
	change(pick: number): DeviceEdit {
		const ids = this.list.ids();
		if (ids.length === 0) return this.add();
		const id = ids[Math.floor(pick * ids.length)] as string;
		this.list.require(id).set({ quantity: this.edits.length + 2 });
		return this.#record('change', id, '');
	}

	/** An add most of the time, a change otherwise. */
	edit(random: () => number): DeviceEdit {
		return random() < 0.7 ? this.add() : this.change(random());
	}

	/** Edits acknowledged durable so far. */
	durableEdits(): DeviceEdit[] {
		return this.edits.filter((e) => e.clock <= this.durableClock);
	}

	onDurable(listener: () => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	/** Resolves once every edit made so far is acknowledged durable. */
	allDurable(ms = 30_000): Promise<void> {
		return waitFor(
			`all ${this.edits.length} edits of ${this.label} durable (acked up to ${this.durableClock})`,
			(done) => {
				const check = () => {
					const last = this.edits.at(-1);
					if (!last || last.clock <= this.durableClock) {
						off();
						done();
					}
				};
				const off = this.onDurable(check);
				check();
			},
			ms
		);
	}

	/** Connects (or reconnects) to `url`, keeping every local edit. */
	moveTo(url: string): void {
		this.provider?.destroy();
		this.provider = this.#open(url);
	}

	disconnect(): void {
		this.provider?.destroy();
		this.provider = undefined;
	}

	names(): Map<string, string> {
		return materialNames(this.doc);
	}
}
