import { HocuspocusProvider, type HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';
import { type DocKind, parseDocName } from '$crdt/doc-names.ts';
import { CustomerDoc, JobDoc, JobOwnerDoc, MaterialListDoc, PrivateNotesDoc } from '$crdt/documents.ts';
import type { Entity, WriteContext } from '$crdt/entity.ts';
import { write } from '$lib/job/write.ts';
import { session } from '$lib/session/store.svelte.ts';
import { notices } from '$lib/ui/notices.svelte.ts';
import { parseServerMessage } from '$wire/durability.ts';
import { appSyncDefaults } from './defaults.ts';
import {
	type DocRef,
	entitiesOf,
	entityView,
	type OpenDoc,
	subjectOf,
	tellsRevocation,
	touchedEntities
} from './doc-views.ts';
import { editKey } from './edit-key.ts';
import { logSync } from './log.ts';
import { formatValue, mergeNotices, type SeenNotices } from './merge-notices.ts';
import { localStoragePendingStore, PendingTracker } from './pending.ts';
import { people } from './people.svelte.ts';
import { rejectedNotice } from './plain-words.ts';
import { type PresenceUser, presenceColor, presenceList } from './presence.ts';
import { endSession, isSessionOver } from './session-ended.ts';
import { syncStatus } from './status.svelte.ts';
import { connectTabs } from './tab-channel.ts';
import { UndoHistory } from './undo-history.ts';
import { LOCAL_ORIGIN, UNDO_ORIGIN, writeContext } from './write-context.ts';

/**
 * One open document on this device: its Y.Doc with the local copy (y-indexeddb), the tab channel,
 * the server connection (a Hocuspocus provider on the tab's shared socket), what is not yet durable
 * (pending.ts), undo, presence and merge notices. `SyncHub` (sync-hub.svelte.ts) opens, shares and
 * closes them.
 */

/** What a document needs of the hub that opened it. */
export interface DocHub {
	/** Closes every document (the session ended). */
	reset(): void;
	openDocs(): readonly OpenDoc[];
}

export class DocSession implements DocRef {
	readonly doc = new Y.Doc();
	readonly kind: DocKind;
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
		private readonly seen: SeenNotices,
		private readonly hub: DocHub
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
		this.watchUpdates();
		this.provider = this.connect(socket);
		// Attached once `this.provider` is set: its events (awareness) fire while attaching.
		this.provider.attach();
		// Nobody is "on the page" of a document only the prefetcher keeps: presence waits for a page.
		this.provider.awareness?.setLocalState(null);
		this.undo = this.undoHistory();
	}

	/** Every update bumps `version`; this tab's own are pending changes, others' may be merges to tell. */
	private watchUpdates(): void {
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
	}

	/** The server connection on the tab's socket (not attached yet), and what its events mean here. */
	private connect(socket: HocuspocusProviderWebsocket): HocuspocusProvider {
		const name = this.name;
		const provider = new HocuspocusProvider({
			name,
			document: this.doc,
			websocketProvider: socket,
			token: () => session.token ?? ''
		});
		provider.on('synced', () => {
			logSync('synced', { doc: name });
			this.serverSynced = true;
			syncStatus.markSynced();
			this.scheduleScan();
		});
		provider.on('unsyncedChanges', ({ number }: { number: number }) => {
			if (number === 0 && provider.isSynced) {
				this.tracker.markReceived();
				syncStatus.markSynced();
			}
		});
		provider.on('authenticationFailed', ({ reason }: { reason: string }) => {
			if (isSessionOver(reason)) return endSession(name, reason, () => this.hub.reset());
			// Taken off the job: a later refusal of the reconnect says nothing new.
			if (this.denied !== 'access_revoked') this.denied = reason || 'forbidden';
			logSync('denied', { doc: name, reason });
			if (this.denied === 'forbidden') this.forget();
		});
		provider.on('authenticated', () => {
			this.denied = null;
		});
		// The server closes a document when its user is taken off the job (server/collab/revoke.ts):
		// say so, instead of leaving edits that can never be sent counted as "to send".
		provider.on('close', ({ event }: { event?: { reason?: string } }) => {
			if (event?.reason && isSessionOver(event.reason))
				return endSession(name, event.reason, () => this.hub.reset());
			if (event?.reason !== 'access_revoked') return;
			// Distinct from `forbidden`: this person was on the job, so the page can say so.
			this.denied = 'access_revoked';
			logSync('denied', { doc: name, reason: 'access_revoked' });
			this.forget();
			if (!tellsRevocation(this.kind, this.hub.openDocs())) return;
			notices.push(
				'rejected',
				'You were taken off this job; changes here can no longer be sent.',
				this.subject(null)
			);
		});
		provider.on('stateless', ({ payload }: { payload: string }) => this.onServerMessage(payload));
		provider.on('awarenessChange', () => this.readPresence());
		return provider;
	}

	/** Undo and redo of this person's own edits in this document. */
	private undoHistory(): UndoHistory {
		const undoCtx: WriteContext = { ...this.ctx, origin: UNDO_ORIGIN };
		const history = new UndoHistory(
			{
				doc: this.doc,
				localOrigin: LOCAL_ORIGIN,
				undoOrigin: UNDO_ORIGIN,
				userId: this.ctx.writer.userId,
				entity: (id, forUndo) => entityView(this, id, forUndo ? undoCtx : this.ctx),
				touched: (tr) => touchedEntities(this, tr),
				// A material exists once its map does; a job or customer once created (createdAt); a job's
				// owner part and private notes exist with their job (crdt AUD-2).
				exists: (e) =>
					(this.kind !== 'job' && this.kind !== 'customer') || e.field('createdAt').entries.length > 0
			},
			() => {
				this.canUndo = history.canUndo();
				this.canRedo = history.canRedo();
			}
		);
		return history;
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
		const color = presenceColor(user.userId);
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

	private subject(entity: Entity | null): string {
		return subjectOf(this, entity, this.ctx);
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
		const byId = new Map(entitiesOf(this, this.ctx).map((e) => [e.id, e]));
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
		this.presence = presenceList(
			states,
			{ clientId: this.doc.clientID, userId: session.current?.user.id },
			(id) => people.nameOf(id)
		);
	}
}
