import * as Y from 'yjs';
import { HybridClock } from './clock.ts';
import type { WriteContext } from './entity.ts';
import type { Role, Writer } from './writer.ts';

/** A replica for tests: its own Y.Doc, writer and (optionally skewed) clock. */
export interface Replica {
	readonly doc: Y.Doc;
	readonly ctx: WriteContext;
}

export function replica(userId: string, role: Role = 'WORKER', nowMs: () => number = Date.now): Replica {
	const writer: Writer = { userId, deviceId: `${userId}-device`, role };
	return { doc: new Y.Doc(), ctx: { writer, clock: new HybridClock(nowMs) } };
}

/** Sends each replica what the other lacks, in both directions (a full two-way sync). */
export function sync(a: Replica, b: Replica): void {
	const toB = Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc));
	const toA = Y.encodeStateAsUpdate(b.doc, Y.encodeStateVector(a.doc));
	Y.applyUpdate(b.doc, toB);
	Y.applyUpdate(a.doc, toA);
}

export function syncAll(replicas: readonly Replica[]): void {
	for (const a of replicas) for (const b of replicas) if (a !== b) sync(a, b);
}
