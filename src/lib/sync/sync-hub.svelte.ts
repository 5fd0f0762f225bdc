import { HocuspocusProviderWebsocket, WebSocketStatus } from '@hocuspocus/provider';
import { clearDocument } from 'y-indexeddb';
import { type DocKind, docName as makeDocName, parseDocName, privateNotesDocName } from '$crdt/doc-names.ts';
import type { FieldConflict } from '$crdt/entity.ts';
import { session } from '$lib/session/store.svelte.ts';
import { appSyncDefaults } from './defaults.ts';
import { DocSession } from './doc-session.svelte.ts';
import { logSync } from './log.ts';
import { SeenNotices } from './merge-notices.ts';
import { localStoragePendingStore } from './pending.ts';
import { syncStatus } from './status.svelte.ts';

/**
 * The tab's sync hub: one websocket shared by every open document, and the open documents,
 * reference-counted so two components on one page share one; a closed page's document lingers
 * (and stays while it has unsent changes). `sync` (client.svelte.ts) is the tab's one hub.
 */
export class SyncHub {
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
			// Back online before the close we asked for when going offline completed: `connect()` on
			// "online" was a no-op (still connected), and the provider does not retry a close it was
			// told to make. Without this the phone stayed "reconnecting" until the next page load
			// (e2e test 5, offline for a second under load).
			if (status === WebSocketStatus.Disconnected && navigator.onLine && !socket.shouldConnect) {
				void socket.connect();
			}
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
			doc = new DocSession(name, this.ensureSocket(), this.seen, this);
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
