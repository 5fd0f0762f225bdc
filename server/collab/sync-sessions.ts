import type {
	afterHandleMessagePayload,
	beforeHandleMessagePayload,
	beforeSyncPayload,
	Connection,
	Extension,
	onConnectPayload,
	onDisconnectPayload
} from '@hocuspocus/server';
import type { AuthUser } from '../auth/roles.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';
import { type DeviceRef, recordSyncBatch, type SyncRecord, touchDevices } from '../sync/analytics.ts';
import type { CollabRefusal, CollabRefusalObserver } from './hocuspocus.ts';

/**
 * The app's websocket syncs in the owner's sync health (docs/rest-api.md "Health"), written through the same analytics
 * module as the REST sync API (`sync/analytics.ts`, `sync_metrics` + `sync_devices`):
 *
 * - `ws_sync`: one row per document connection, from the moment the client asks for the document
 *   (`onConnect`) until its initial sync is done both ways — the server has answered the client's
 *   SyncStep1 (the device has the server's state) and applied its SyncStep2 (the server has the
 *   device's offline edits). Duration = time to synced. It fails when the connection is refused
 *   (bad or expired token, forbidden document) or closes before it synced.
 * - `ws_edits`: what a device sends afterwards over its open connections, aggregated per device and
 *   `editsWindowMs` (one row per device and window with edits, plus a last one when a connection
 *   closes): operations = Yjs updates received, conflicts = fields the write guard refused.
 * - Every window, each connected and synced device is marked as synced now (`sync_devices`), so
 *   the owner's device list says "just now" for a phone that is online, not when it connected.
 *
 * The device id comes from the socket URL (`?deviceId=…`, src/lib/sync/sync-hub.svelte.ts). Bytes are
 * counted both ways on the connection (received messages; `Connection.send` wrapped per connection).
 * Nothing touches the database on the hot path: records queue up and are written in batches by a
 * background flush (`flushDelayMs`).
 */
export interface SyncSessionSettings {
	/** Edits over open connections are recorded once per this window, per device. */
	editsWindowMs: number;
	/** A record waits at most this long to be written together with others. */
	flushDelayMs: number;
	/** More records than this waiting (database down or far behind): new ones are dropped and logged. */
	maxPendingRecords: number;
}

export const syncSessionDefaults: Readonly<SyncSessionSettings> = {
	editsWindowMs: 60_000,
	flushDelayMs: 1_000,
	maxPendingRecords: 10_000
};

/** Longest device id taken from the URL; anything longer (or empty) is ignored. */
const MAX_DEVICE_ID_LENGTH = 128;
/** An empty Yjs update (v1): a SyncStep2 of this size carries no edits. */
const EMPTY_UPDATE_BYTES = 2;
/** The key of a connection's session in its Hocuspocus context. */
const SESSION_KEY = 'khsSyncSession';

interface Session {
	documentName: string;
	deviceId: string | null;
	userId: string | null;
	startedAt: number;
	state: 'syncing' | 'synced' | 'ended';
	step1: boolean;
	step2: boolean;
	countingSent: boolean;
	/** Since the last record of this session. */
	operations: number;
	conflicts: number;
	bytes: number;
}

export interface SyncSessionsExtension extends Extension, CollabRefusalObserver {
	/** The write guard refused a field this connection sent: a conflict of its session. */
	writeRefused(connection: Connection): void;
	/** Records the current window's edits and writes everything queued. */
	flush(): Promise<void>;
}

export function createSyncSessions(options: {
	db: Db;
	logger: Logger;
	settings?: Partial<SyncSessionSettings>;
}): SyncSessionsExtension {
	const { db, logger } = options;
	const settings = { ...syncSessionDefaults, ...options.settings };
	/** Synced, still open sessions: their edits are recorded per window. */
	const open = new Set<Session>();
	let pending: SyncRecord[] = [];
	let dropped = 0;
	let flushTimer: ReturnType<typeof setTimeout> | undefined;
	let windowTimer: ReturnType<typeof setInterval> | undefined;
	let writing: Promise<void> = Promise.resolve();
	let destroyed = false;

	const sessionOf = (context: unknown): Session | undefined =>
		(context as Record<string, unknown> | undefined)?.[SESSION_KEY] as Session | undefined;

	function enqueue(record: SyncRecord): void {
		if (pending.length >= settings.maxPendingRecords) {
			dropped++;
			return;
		}
		pending.push(record);
		// After shutdown began (a connection closing late), write at once: no timer keeps it waiting.
		if (destroyed) void write();
		else if (!flushTimer) {
			flushTimer = setTimeout(() => void write(), settings.flushDelayMs);
			flushTimer.unref?.();
		}
	}

	/** Writes what is queued (after any write under way) and resolves when it is written. */
	function write(devices: DeviceRef[] = []): Promise<void> {
		clearTimeout(flushTimer);
		flushTimer = undefined;
		const records = pending;
		pending = [];
		if (dropped > 0) {
			logger.warn({ dropped }, 'sync metrics queue full: websocket sync records dropped');
			dropped = 0;
		}
		writing = writing.then(async () => {
			await recordSyncBatch(db, logger, records);
			await touchDevices(db, logger, devices);
		});
		return writing;
	}

	function record(session: Session, fields: Pick<SyncRecord, 'kind' | 'durationMs' | 'success' | 'error'>) {
		enqueue({
			...fields,
			userId: session.userId,
			deviceId: session.deviceId,
			operations: session.operations,
			conflicts: session.conflicts,
			dataBytes: session.bytes
		});
		session.operations = 0;
		session.conflicts = 0;
		session.bytes = 0;
	}

	function fail(session: Session, error: string): void {
		if (session.state !== 'syncing') return;
		session.state = 'ended';
		record(session, { kind: 'ws_sync', durationMs: elapsed(session), success: false, error });
	}

	/** One `ws_edits` row per device with edits or refusals in this window; every open device touched. */
	function closeWindow(): DeviceRef[] {
		const edits = new Map<string, SyncRecord>();
		const devices: DeviceRef[] = [];
		for (const session of open) {
			if (session.userId && session.deviceId)
				devices.push({ userId: session.userId, deviceId: session.deviceId });
			if (session.operations === 0 && session.conflicts === 0) continue;
			const key = `${session.userId} ${session.deviceId}`;
			const row = edits.get(key) ?? {
				kind: 'ws_edits' as const,
				userId: session.userId,
				deviceId: session.deviceId,
				durationMs: null,
				success: true,
				operations: 0,
				conflicts: 0,
				dataBytes: 0
			};
			row.operations += session.operations;
			row.conflicts += session.conflicts;
			row.dataBytes += session.bytes;
			edits.set(key, row);
			session.operations = 0;
			session.conflicts = 0;
			session.bytes = 0;
		}
		for (const row of edits.values()) enqueue(row);
		return devices;
	}

	function startWindows(): void {
		if (windowTimer || destroyed) return;
		windowTimer = setInterval(() => {
			const devices = closeWindow();
			if (pending.length > 0 || devices.length > 0) void write(devices);
		}, settings.editsWindowMs);
		windowTimer.unref?.();
	}

	return {
		extensionName: 'khs-sync-sessions',

		async onConnect({ documentName, requestParameters }: onConnectPayload) {
			const deviceId = requestParameters.get('deviceId')?.trim() ?? '';
			const session: Session = {
				documentName,
				deviceId: deviceId !== '' && deviceId.length <= MAX_DEVICE_ID_LENGTH ? deviceId : null,
				userId: null,
				startedAt: performance.now(),
				state: 'syncing',
				step1: false,
				step2: false,
				countingSent: false,
				operations: 0,
				conflicts: 0,
				bytes: 0
			};
			return { [SESSION_KEY]: session };
		},

		onCollabRefused(refusal: CollabRefusal) {
			const session = sessionOf(refusal.context);
			if (!session) return;
			session.userId = refusal.userId ?? null;
			fail(session, `refused: ${refusal.reason}`);
		},

		async beforeHandleMessage({ context, connection, update }: beforeHandleMessagePayload) {
			const session = sessionOf(context);
			if (!session) return;
			session.bytes += update.byteLength;
			if (!session.countingSent) {
				session.countingSent = true;
				session.userId ??= (context as { user?: AuthUser }).user?.id ?? null;
				// Hocuspocus has no hook for outgoing messages; every one of them goes through `send`.
				countSent(connection, session);
			}
		},

		async beforeSync({ context, type, payload }: beforeSyncPayload) {
			const session = sessionOf(context);
			if (!session) return;
			// y-protocols: 0 SyncStep1 (state vector), 1 SyncStep2 (missing updates), 2 update.
			if (type === 0) session.step1 = true;
			else if (type === 1) {
				session.step2 = true;
				if (payload.byteLength > EMPTY_UPDATE_BYTES) session.operations++;
			} else if (type === 2) session.operations++;
		},

		async afterHandleMessage({ context }: afterHandleMessagePayload) {
			const session = sessionOf(context);
			if (session?.state !== 'syncing' || !session.step1 || !session.step2) return;
			session.state = 'synced';
			record(session, { kind: 'ws_sync', durationMs: elapsed(session), success: true });
			open.add(session);
			startWindows();
		},

		async onDisconnect({ context }: onDisconnectPayload) {
			const session = sessionOf(context);
			if (!session) return;
			if (session.state === 'syncing') {
				fail(session, 'closed before synced');
				return;
			}
			if (session.state !== 'synced') return;
			session.state = 'ended';
			open.delete(session);
			if (session.operations > 0 || session.conflicts > 0 || session.bytes > 0) {
				record(session, { kind: 'ws_edits', durationMs: null, success: true });
			}
		},

		writeRefused(connection: Connection) {
			const session = sessionOf(connection.context);
			if (session) session.conflicts++;
		},

		flush() {
			return write(closeWindow());
		},

		async onDestroy() {
			destroyed = true;
			clearInterval(windowTimer);
			for (const session of open) {
				session.state = 'ended';
				if (session.operations > 0 || session.conflicts > 0 || session.bytes > 0) {
					record(session, { kind: 'ws_edits', durationMs: null, success: true });
				}
			}
			open.clear();
			await write();
		}
	};
}

/** Where a counting connection keeps its session and its own `send`. */
const SENT = Symbol('khsSyncSessionSent');

interface CountingConnection {
	send(message: Uint8Array): void;
	[SENT]: { session: Session; send: (message: Uint8Array) => void };
}

/**
 * Every outgoing message (each fan-out of every update) goes through this: one function shared by
 * all connections, no closure or bound function per connection, no allocation per message.
 */
function countingSend(this: CountingConnection, message: Uint8Array): void {
	const sent = this[SENT];
	sent.session.bytes += message.byteLength;
	sent.send.call(this, message);
}

function countSent(connection: Connection, session: Session): void {
	const counting = connection as unknown as CountingConnection;
	counting[SENT] = { session, send: counting.send };
	counting.send = countingSend;
}

function elapsed(session: Session): number {
	return performance.now() - session.startedAt;
}
