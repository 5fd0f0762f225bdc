import { HocuspocusProvider } from '@hocuspocus/provider';
import * as Y from 'yjs';
import { HybridClock, MaterialListDoc, type WriteContext } from '../../../crdt/index.ts';
import { waitFor } from '../../../server/testing/app.ts';
import { parseDurableAck } from '../../../wire/durability.ts';

/** One material a writer added: enough to find it again after a reload. */
export interface Edit {
	docName: string;
	materialId: string;
	name: string;
	/** The writer's Y clock after the edit: the edit is durable once an ack's vector covers it. */
	clock: number;
}

export function connect(
	url: string,
	name: string,
	token: string,
	document = new Y.Doc()
): HocuspocusProvider {
	// Default reconnect settings: a `delay` override stops the provider from ever connecting (4.8).
	return new HocuspocusProvider({ url, name, token, document });
}

export function synced(provider: HocuspocusProvider, ms = 15_000): Promise<void> {
	return waitFor(
		`sync of ${provider.configuration.name}`,
		(done) => {
			if (provider.isSynced) return done();
			provider.on('synced', () => done());
		},
		ms
	);
}

/**
 * A crew member's device adding materials to one job's list through the crdt views, the way the app
 * does, and tracking which of its edits the server has acknowledged as durable (`khs:durable`).
 * The Y.Doc outlives the connection: `moveTo` reconnects it elsewhere like a device whose load
 * balancer picked another instance, keeping every local edit (as y-indexeddb would).
 */
export class MaterialWriter {
	readonly doc = new Y.Doc();
	readonly edits: Edit[] = [];
	readonly list: MaterialListDoc;
	provider: HocuspocusProvider;
	/** Highest own clock any ack covered. */
	durableClock = 0;
	#listeners = new Set<() => void>();

	constructor(
		url: string,
		readonly docName: string,
		private readonly token: string,
		userId: string,
		private readonly label: string
	) {
		const ctx: WriteContext = {
			writer: { userId, deviceId: `device-${label}`, role: 'OWNER' },
			clock: new HybridClock()
		};
		this.list = new MaterialListDoc(this.doc, docName.slice('materials:'.length), ctx);
		this.provider = this.#open(url);
	}

	#open(url: string): HocuspocusProvider {
		const provider = connect(url, this.docName, this.token, this.doc);
		provider.on('stateless', ({ payload }: { payload: string }) => {
			const vector = parseDurableAck(payload);
			if (!vector) return;
			const clock = vector.get(this.doc.clientID) ?? 0;
			if (clock <= this.durableClock) return;
			this.durableClock = clock;
			for (const listener of this.#listeners) listener();
		});
		return provider;
	}

	/** Adds one material (one Yjs transaction, one update). */
	edit(): Edit {
		const name = `${this.label}-${this.edits.length}`;
		const entity = this.list.add({ name, quantity: this.edits.length + 1, unit: 'pcs' });
		const edit = {
			docName: this.docName,
			materialId: entity.id,
			name,
			clock: Y.getState(this.doc.store, this.doc.clientID)
		};
		this.edits.push(edit);
		return edit;
	}

	/** The edits acknowledged durable so far (a prefix: edits are made in clock order). */
	durableEdits(): Edit[] {
		return this.edits.filter((e) => e.clock <= this.durableClock);
	}

	/** Calls `listener` after every ack that advanced this writer's durable clock; returns an unsubscribe. */
	onDurable(listener: () => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	/** Resolves once every edit made so far is acknowledged durable. */
	allDurable(ms = 20_000): Promise<void> {
		return waitFor(
			`all ${this.edits.length} edits of ${this.label} durable`,
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

	moveTo(url: string): void {
		this.provider.destroy();
		this.provider = this.#open(url);
	}

	destroy(): void {
		this.provider.destroy();
	}
}

/** Names of the materials in a document state (an update from the store or a client). */
export function materialNames(state: Uint8Array | Y.Doc | null): Map<string, string> {
	const doc = state instanceof Y.Doc ? state : new Y.Doc();
	if (!(state instanceof Y.Doc) && state) Y.applyUpdate(doc, state);
	const names = new Map<string, string>();
	const view = new MaterialListDoc(doc, 'x', {
		writer: { userId: 'reader', deviceId: 'reader', role: 'OWNER' },
		clock: new HybridClock()
	});
	for (const id of view.ids()) names.set(id, String(view.read(id)?.name ?? ''));
	return names;
}
