import { HocuspocusProvider, HocuspocusProviderWebsocket, WebSocketStatus } from '@hocuspocus/provider';
import { clearDocument, IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';
import { HybridClock } from '$crdt/clock.ts';
import { type DocKind, docName as makeDocName, parseDocName, privateNotesDocName } from '$crdt/doc-names.ts';
import { CustomerDoc, JobDoc, JobOwnerDoc, MaterialListDoc, PrivateNotesDoc } from '$crdt/documents.ts';
import type { Entity, FieldConflict, WriteContext } from '$crdt/entity.ts';
import { write } from '$lib/job/write.ts';
import { session } from '$lib/session/store.svelte.ts';
import { notices } from '$lib/ui/notices.svelte.ts';
import { parseServerMessage } from '$wire/durability.ts';
import { appSyncDefaults } from './defaults.ts';
import { editKey } from './edit-key.ts';
import { logSync } from './log.ts';
import { formatValue, mergeNotices, SeenNotices } from './merge-notices.ts';
import { localStoragePendingStore, PendingTracker } from './pending.ts';
import { people } from './people.svelte.ts';
import { rejectedNotice } from './plain-words.ts';
import { endSession, isSessionOver } from './session-ended.ts';
import { syncStatus } from './status.svelte.ts';
import { connectTabs } from './tab-channel.ts';
import { UndoHistory } from './undo-history.ts';

/**
 * The client sync layer: one websocket per tab, one provider + y-indexeddb + tab channel per open
 * document, reference-counted so two components on one page share a document.
 */

/**
 * Transaction origin of every write this tab makes through the crdt views (WriteContext.origin).
 * The undo managers track exactly this origin: a user undoes their own edits, never anyone else's.
 */
export const LOCAL_ORIGIN = { source: 'khs-local' } as const;
/** Origin of undo and redo writes: local edits like any other, but never undo steps themselves. */
export const UNDO_ORIGIN = { source: 'khs-undo' } as const;

/** One HLC per device (tab); the crdt views observe every stamp before writing (SPEC HLC-2). */
const deviceClock = new HybridClock();

export function writeContext(): WriteContext {
	const user = session.current?.user;
	if (!user) throw new Error('not signed in');
	return {
		writer: { userId: user.id, deviceId: session.deviceId, role: user.role },
		clock: deviceClock,
		origin: LOCAL_ORIGIN
	};
}

const PRESENCE_COLORS = ['#b45309', '#0f766e', '#7c3aed', '#be123c', '#1d4ed8', '#4d7c0f'];

export interface PresenceUser {
	clientId: number;
	id: string;
	name: string;
	role: string;
	color: string;
}

export class DocSession {
	readonly doc = new Y.Doc();
	readonly kind;
	readonly entityId: string;
	/** `private-notes` documents: whose notes these are. */
	readonly ownerUserId: string | undefined;
	readonly ctx: WriteContext;
	readonly persistence: IndexeddbPersistence;
	readonly provider: HocuspocusProvider;
	readonly tracker: PendingTracker;
	readonly undo: UndoHistory;

	/** Bumped on every document update: `$derived` views read it to re-read the crdt JSON. */
	version = $state(0);
	/** Local copy (IndexedDB) loaded. */
	loaded = $state(false);
	/** First handshake with the server done in this session. */
	serverSynced = $state(false);
	/** Why the server refused this document (`forbidden`, `expired`…), if it did. */
	denied = $state<string | null>(null);
	presence = $state.raw<PresenceUser[]>([]);
	canUndo = $state(false);
	canRedo = $state(false);

	refs = 0;
	/** Kept open by the offline prefetcher (offline-ready.svelte.ts), not by a page. */
	held = false;
	lingerTimer: ReturnType<typeof setTimeout> | undefined;
	private readonly cleanups: Array<() => void> = [];
	private scanTimer: ReturnType<typeof setTimeout> | undefined;

	constructor(
		readonly name: string,
		socket: HocuspocusProviderWebsocket,
		private readonly seen: SeenNotices
	) {
		const ref = parseDocName(name);
		if (!ref) throw new Error(`not a document name: ${name}`);
		this.kind = ref.kind;
		this.entityId = ref.id;
		this.ownerUserId = ref.userId;
		this.ctx = writeContext();
		this.tracker = new PendingTracker(
			name,
			localStoragePendingStore(localStorage),
			appSyncDefaults.pendingBurstMs,
			() => syncStatus.recount()
		);

		this.persistence = new IndexeddbPersistence(name, this.doc);
		void this.persistence.whenSynced.then(() => {
			this.loaded = true;
			this.version++;
		});
		this.cleanups.push(connectTabs(name, this.doc));

		this.doc.on('update', (_update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
			this.version++;
			// Only this tab's own writes (and its undo/redo) are "local changes".
			if (tr.local)
				this.tracker.record(
					this.doc.clientID,
					Y.getState(this.doc.store, this.doc.clientID),
					Date.now(),
					editKey(tr)
				);
			else if (origin !== this.persistence) this.scheduleScan();
		});

		this.provider = new HocuspocusProvider({
			name,
			document: this.doc,
			websocketProvider: socket,
			token: () => session.token ?? ''
		});
		this.provider.on('synced', () => {
			logSync('synced', { doc: name });
			this.serverSynced = true;
			syncStatus.markSynced();
			this.scheduleScan();
		});
		this.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
			if (number === 0 && this.provider.isSynced) {
				this.tracker.markReceived();
				syncStatus.markSynced();
			}
		});
		this.provider.on('authenticationFailed', ({ reason }: { reason: string }) => {
			if (isSessionOver(reason)) return endSession(name, reason, () => sync.reset());
			// Taken off the job: a later refusal of the reconnect says nothing new.
			if (this.denied !== 'access_revoked') this.denied = reason || 'forbidden';
			logSync('denied', { doc: name, reason });
			if (this.denied === 'forbidden') this.forget();
		});
		this.provider.on('authenticated', () => {
			this.denied = null;
		});
		// The server closes a document when its user is taken off the job (server/collab/revoke.ts):
		// say so, instead of leaving edits that can never be sent counted as "to send".
		this.provider.on('close', ({ event }: { event?: { reason?: string } }) => {
			if (event?.reason && isSessionOver(event.reason))
				return endSession(name, event.reason, () => sync.reset());
			if (event?.reason !== 'access_revoked') return;
			// Distinct from `forbidden`: this person was on the job, so the page can say so.
			this.denied = 'access_revoked';
			logSync('denied', { doc: name, reason: 'access_revoked' });
			this.forget();
			// The job and its material list close together: one notice, from the job.
			if (this.kind === 'materials') return;
			notices.push(
				'rejected',
				'You were taken off this job; changes here can no longer be sent.',
				this.subject(null)
			);
		});
		this.provider.on('stateless', ({ payload }: { payload: string }) => this.onServerMessage(payload));
		this.provider.on('awarenessChange', () => this.readPresence());
		this.provider.attach();
		// Nobody is "on the page" of a document only the prefetcher keeps: presence waits for a page.
		this.provider.awareness?.setLocalState(null);

		const undoCtx: WriteContext = { ...this.ctx, origin: UNDO_ORIGIN };
		this.undo = new UndoHistory(
			{
				doc: this.doc,
				localOrigin: LOCAL_ORIGIN,
				undoOrigin: UNDO_ORIGIN,
				userId: this.ctx.writer.userId,
				entity: (id, forUndo) => this.entityView(id, forUndo ? undoCtx : this.ctx),
				touched: (tr) => this.touchedEntities(tr),
				// A material exists once its map does; a job or customer once created (createdAt); a job's
				// owner part and private notes exist with their job (crdt AUD-2).
				exists: (e) =>
					(this.kind !== 'job' && this.kind !== 'customer') || e.field('createdAt').entries.length > 0
			},
			() => {
				this.canUndo = this.undo.canUndo();
				this.canRedo = this.undo.canRedo();
			}
		);
	}

	/** Shows (or stops showing) this person as present on the document: only while a page has it open. */
	setPresent(present: boolean): void {
		const awareness = this.provider.awareness;
		if (!awareness) return;
		if (!present) {
			if (awareness.getLocalState() !== null) awareness.setLocalState(null);
			return;
		}
		if (awareness.getLocalState()?.user) return;
		const user = this.ctx.writer;
		const color = PRESENCE_COLORS[hash(user.userId) % PRESENCE_COLORS.length] ?? '#555';
		// Not setLocalStateField: it does nothing while the local state is null (never shown yet).
		awareness.setLocalState({
			...(awareness.getLocalState() ?? {}),
			user: { id: user.userId, name: session.current?.user.name ?? '', role: user.role, color }
		});
	}

	/**
	 * Access ended (refused with `forbidden`, or closed with `access_revoked`): the local copy and
	 * its unsendable changes leave the device. What is on screen stays until the page closes.
	 */
	private forget(): void {
		void this.persistence.clearData();
		this.tracker.discard();
		syncStatus.recount();
	}

	/** The entity with this id in this document, writing with `ctx`. */
	private entityView(id: string, ctx: WriteContext): Entity | undefined {
		if (this.kind === 'materials') return new MaterialListDoc(this.doc, this.entityId, ctx).get(id);
		if (id !== this.entityId) return undefined;
		if (this.kind === 'job') return new JobDoc(this.doc, id, ctx).entity;
		if (this.kind === 'customer') return new CustomerDoc(this.doc, id, ctx).entity;
		if (this.kind === 'job-owner') return new JobOwnerDoc(this.doc, id, ctx).entity;
		return new PrivateNotesDoc(this.doc, id, this.ownerUserId ?? '', ctx).entity;
	}

	/** Ids of the entities a transaction touched (a material's map sits under its id). */
	private touchedEntities(tr: Y.Transaction): string[] {
		if (tr.changed.size === 0) return [];
		if (this.kind !== 'materials') return [this.entityId];
		const root = this.doc.getMap('materials');
		const ids = new Set<string>();
		for (const [type, keys] of tr.changed) {
			if ((type as unknown) === root) for (const key of keys) if (key) ids.add(key);
			const item = (type as unknown as { _item?: { parent?: unknown; parentSub?: string | null } | null })
				._item;
			if (item?.parent === root && item.parentSub) ids.add(item.parentSub);
		}
		return [...ids];
	}

	job(): JobDoc {
		return new JobDoc(this.doc, this.entityId, this.ctx);
	}

	materials(): MaterialListDoc {
		return new MaterialListDoc(this.doc, this.entityId, this.ctx);
	}

	customer(): CustomerDoc {
		return new CustomerDoc(this.doc, this.entityId, this.ctx);
	}

	/** `job-owner:` documents: the job's price (owners only). */
	jobOwner(): JobOwnerDoc {
		return new JobOwnerDoc(this.doc, this.entityId, this.ctx);
	}

	/** `private-notes:` documents: this person's own notes on the job. */
	privateNotes(): PrivateNotesDoc {
		return new PrivateNotesDoc(this.doc, this.entityId, this.ownerUserId ?? '', this.ctx);
	}

	/** Time of the newest undo step, to pick which document's undo goes first on a page. */
	lastUndoAt(): number {
		return this.undo.lastAt();
	}

	destroy(): void {
		clearTimeout(this.scanTimer);
		clearTimeout(this.lingerTimer);
		for (const cleanup of this.cleanups) cleanup();
		this.undo.destroy();
		this.provider.destroy();
		// Destroying the doc also closes its IndexedDB persistence (it listens for 'destroy').
		this.doc.destroy();
	}

	private onServerMessage(payload: string): void {
		const message = parseServerMessage(payload);
		if (!message) return;
		logSync(message.type, { doc: this.name, ...(message.type === 'khs:rejected' ? message : {}) });
		if (message.type === 'khs:durable') {
			this.tracker.acknowledge(message.stateVector);
			syncStatus.markSynced();
		} else {
			notices.push('rejected', rejectedNotice(message.field, message.message), this.subject(null));
		}
	}

	private entities(): Entity[] {
		if (this.kind === 'materials') {
			const list = this.materials();
			return list.ids().flatMap((id) => list.get(id) ?? []);
		}
		const view = this.entityView(this.entityId, this.ctx);
		return view ? [view] : [];
	}

	private subject(entity: Entity | null): string {
		if (entity && this.kind === 'materials') return String(entity.get('name') || 'A material');
		if (this.kind === 'job') return String(this.job().entity.get('title') || 'This job');
		if (this.kind === 'job-owner' || this.kind === 'private-notes') return 'This job';
		if (this.kind === 'customer') return String(this.customer().entity.get('name') || 'This customer');
		return 'Materials';
	}

	private scheduleScan(): void {
		if (this.scanTimer) return;
		this.scanTimer = setTimeout(() => {
			this.scanTimer = undefined;
			this.scanMerges();
		}, appSyncDefaults.noticeScanMs);
	}

	/** Tells the user when a merge changed what they wrote (see merge-notices.ts). */
	private scanMerges(): void {
		const user = session.current?.user;
		if (!user) return;
		const byId = new Map(this.entities().map((e) => [e.id, e]));
		const found = mergeNotices(byId.values(), {
			userId: user.id,
			deviceId: session.deviceId,
			nameOf: (id) => people.nameOf(id),
			wasOffline: (at) => syncStatus.wasOffline(at),
			now: Date.now(),
			offlineWriteAgeMs: appSyncDefaults.offlineWriteAgeMs
		});
		for (const notice of found) {
			if (!this.seen.firstTime(notice.key)) continue;
			const entity = byId.get(notice.entityId) ?? null;
			// The side whose value lost can put it back in one tap (a new write, seen by everyone).
			const action =
				notice.side === 'lost' && entity
					? {
							label: `Use mine (${formatValue(notice.field, notice.mine)})`,
							run: () => write(() => entity.set({ [notice.field]: notice.mine }))
						}
					: undefined;
			notices.push('merge', notice.text, this.subject(entity), action);
		}
	}

	private readPresence(): void {
		const states = this.provider.awareness?.getStates() ?? new Map();
		const me = session.current?.user.id;
		const seenUsers = new Set<string>();
		const list: PresenceUser[] = [];
		for (const [clientId, state] of states) {
			const u = (state as { user?: Partial<PresenceUser> }).user;
			if (!u?.id || clientId === this.doc.clientID || u.id === me || seenUsers.has(u.id)) continue;
			seenUsers.add(u.id);
			list.push({
				clientId,
				id: u.id,
				name: u.name || people.nameOf(u.id) || 'Someone',
				role: u.role ?? '',
				color: u.color ?? '#555'
			});
		}
		this.presence = list;
	}
}

function hash(text: string): number {
	let h = 0;
	for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
	return h;
}

/** The tab's socket and open documents. */
class SyncClient {
	private socket: HocuspocusProviderWebsocket | null = null;
	private readonly docs = new Map<string, DocSession>();
	private seen: SeenNotices | null = null;
	private listening = false;
	/** Bumped whenever a document opens or closes: reactive views of `openDocs()` read it. */
	revision = $state(0);

	private ensureSocket(): HocuspocusProviderWebsocket {
		if (this.socket) return this.socket;
		syncStatus.init();
		syncStatus.setSocket(navigator.onLine ? 'connecting' : 'disconnected');
		// The device id lets the owner's sync health list this browser's syncs (server/collab/sync-sessions.ts).
		const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${appSyncDefaults.collabPath}?deviceId=${encodeURIComponent(session.deviceId)}`;
		const socket = new HocuspocusProviderWebsocket({
			url,
			delay: appSyncDefaults.reconnectDelayMs,
			factor: appSyncDefaults.reconnectFactor,
			maxDelay: appSyncDefaults.reconnectMaxDelayMs,
			// Offline, we close the socket ourselves (below): never connect without the network.
			autoConnect: navigator.onLine
		});
		socket.on('status', ({ status }: { status: WebSocketStatus }) => {
			logSync(`socket ${status}`);
			syncStatus.setSocket(
				status === WebSocketStatus.Connected
					? 'connected'
					: status === WebSocketStatus.Connecting
						? 'connecting'
						: 'disconnected'
			);
		});
		if (!this.listening) {
			this.listening = true;
			// The browser's "offline" is authoritative: an open websocket may linger (devtools'
			// offline mode leaves it up), and edits made offline must stay local until we are back.
			window.addEventListener('offline', () => this.socket?.disconnect());
			window.addEventListener('online', () => void this.socket?.connect());
		}
		this.socket = socket;
		return socket;
	}

	/** Opens (or shares) a document. Call `release` when the page no longer needs it. */
	open(name: string): DocSession {
		const doc = this.session(name);
		clearTimeout(doc.lingerTimer);
		doc.refs++;
		doc.setPresent(true);
		return doc;
	}

	private session(name: string): DocSession {
		let doc = this.docs.get(name);
		if (!doc) {
			this.seen ??= new SeenNotices(localStorage);
			doc = new DocSession(name, this.ensureSocket(), this.seen);
			this.docs.set(name, doc);
			this.revision++;
		}
		return doc;
	}

	/** Keeps a document open and live in the background (offline prefetch); no presence shown. */
	hold(name: string): DocSession {
		const doc = this.session(name);
		clearTimeout(doc.lingerTimer);
		doc.held = true;
		return doc;
	}

	/** Ends a background hold; the document closes unless a page has it open. */
	unhold(name: string): void {
		const doc = this.docs.get(name);
		if (!doc?.held) return;
		doc.held = false;
		if (doc.refs === 0) this.closeWhenIdle(doc, 0);
	}

	/** The socket all documents share (created on first use), for the connection state. */
	connect(): void {
		this.ensureSocket();
	}

	/** Removes a document's local copy from this device (access ended while it was not open). */
	async drop(name: string): Promise<void> {
		const doc = this.docs.get(name);
		if (doc) {
			this.docs.delete(name);
			doc.destroy();
		}
		localStoragePendingStore(localStorage).save(name, []);
		await clearDocument(name);
		syncStatus.recount();
	}

	openDocs(): DocSession[] {
		void this.revision;
		return [...this.docs.values()];
	}

	/** Values waiting for the owner's choice (USER_CHOICE conflicts) in the documents on this device. */
	choicesWaiting(): number {
		let count = 0;
		for (const d of this.openDocs()) {
			if (d.kind !== 'customer') continue;
			void d.version;
			count += d
				.customer()
				.conflicts()
				.filter((c) => c.needsChoice).length;
		}
		return count;
	}

	/** Every USER_CHOICE or merged conflict in the open documents (debug export). */
	conflicts(): Array<{ document: string; conflicts: FieldConflict[] }> {
		return this.openDocs().map((d) => ({
			document: d.name,
			conflicts:
				d.kind === 'materials'
					? d.materials().conflicts()
					: d.kind === 'job'
						? d.job().conflicts()
						: d.customer().conflicts()
		}));
	}

	/** An open document, if it is open (debug console and end-to-end tests). */
	get(name: string): DocSession | undefined {
		return this.docs.get(name);
	}

	/** `private-notes` opens the signed-in person's own notes on job `id`. */
	openKind(kind: DocKind, id: string): DocSession {
		if (kind !== 'private-notes') return this.open(makeDocName(kind, id));
		return this.open(privateNotesDocName(id, session.current?.user.id ?? ''));
	}

	release(doc: DocSession): void {
		doc.refs = Math.max(0, doc.refs - 1);
		if (doc.refs > 0) return;
		doc.setPresent(false);
		this.closeWhenIdle(doc, appSyncDefaults.lingerMs);
	}

	private closeWhenIdle(doc: DocSession, afterMs: number): void {
		clearTimeout(doc.lingerTimer);
		const close = () => {
			if (doc.refs > 0 || doc.held) return;
			// Keep a document with unsent changes connected until the server has them.
			if (doc.tracker.unsent > 0 && syncStatus.online && !doc.denied) {
				doc.lingerTimer = setTimeout(close, appSyncDefaults.lingerMs);
				return;
			}
			if (this.docs.get(doc.name) === doc) this.docs.delete(doc.name);
			doc.destroy();
			this.revision++;
		};
		doc.lingerTimer = setTimeout(close, afterMs);
	}

	/** Re-opens documents with changes the server has not confirmed, so they go out without a visit. */
	resumePending(): void {
		syncStatus.init();
		for (const name of localStoragePendingStore(localStorage).names()) {
			if (!parseDocName(name) || this.docs.has(name)) continue;
			this.closeWhenIdle(this.session(name), appSyncDefaults.lingerMs);
		}
	}

	/** Undoes the newest own edit among the given documents. */
	undoLatest(docs: DocSession[]): boolean {
		const target = docs.filter((d) => d.undo.canUndo()).sort((a, b) => b.lastUndoAt() - a.lastUndoAt())[0];
		target?.undo.undo();
		return Boolean(target);
	}

	/** Redoes the newest undone step among the given documents. */
	redoLatest(docs: DocSession[]): boolean {
		const target = docs.find((d) => d.undo.canRedo());
		target?.undo.redo();
		return Boolean(target);
	}

	/** Sign-out: close everything. Local copies stay in IndexedDB (unsent edits included). */
	reset(): void {
		for (const doc of this.docs.values()) doc.destroy();
		this.docs.clear();
		this.socket?.destroy();
		this.socket = null;
		syncStatus.setSocket('idle');
	}
}

export const sync = new SyncClient();

// A handle for the browser console and the end-to-end tests (e.g. to attempt a write the UI does
// not offer and watch the server undo it). It grants nothing: the server enforces every rule.
if (typeof window !== 'undefined') (window as unknown as { __khs: unknown }).__khs = { sync };
