import { readFileSync } from 'node:fs';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import type * as Y from 'yjs';
import { HybridClock, MaterialListDoc } from '../../../crdt/index.ts';
import { authFrame, syncStep1Frame } from '../../../server/collab/frame-builders.ts';
import { waitFor } from '../../../server/testing/app.ts';

function listOf(doc: Y.Doc, userId: string, label: string): MaterialListDoc {
	return new MaterialListDoc(doc, 'flood', {
		writer: { userId, deviceId: `device-${label}`, role: 'OWNER' },
		clock: new HybridClock()
	});
}

/**
 * Adds `count` materials in one transaction (one update), written as `userId` (the write guard
 * checks it); returns their ids. 2,500 of them make a ~1.1 MB list, the flood target.
 */
export function addMaterials(doc: Y.Doc, count: number, userId: string, label = 'm'): string[] {
	const list = listOf(doc, userId, label);
	const ids: string[] = [];
	doc.transact(() => {
		for (let i = 0; i < count; i++) {
			ids.push(list.add({ name: `${label} material ${i} with a longish name`, quantity: i, unit: 'pcs' }).id);
		}
	});
	return ids;
}

/**
 * A device's week offline (docs/socket-limits.md SOCK-3): 2,000 materials added, then 8,000 changes
 * to them, each its own transaction as the app makes them. Returns the added ids.
 */
export function weekOffline(doc: Y.Doc, userId: string): string[] {
	const list = listOf(doc, userId, 'week');
	const ids: string[] = [];
	for (let i = 0; i < 2_000; i++) {
		ids.push(list.add({ name: `week material ${i} with a longish name`, quantity: i, unit: 'pcs' }).id);
	}
	for (let i = 0; i < 8_000; i++) {
		list.require(ids[i % ids.length] as string).set({ quantity: i, purchased: i % 2 === 0 });
	}
	return ids;
}

/** The resident set of process `pid` (Linux `/proc/<pid>/status` VmRSS), in bytes. */
export function rssBytes(pid: number): number {
	const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	return match ? Number(match[1]) * 1024 : 0;
}

/** Samples `rssBytes(pid)` every `everyMs` until `stop()`, which returns the peak. */
export function watchRss(pid: number, everyMs = 20): { stop(): number } {
	let peak = rssBytes(pid);
	const timer = setInterval(() => {
		try {
			peak = Math.max(peak, rssBytes(pid));
		} catch {
			// The process ended; the peak so far stands.
		}
	}, everyMs);
	return {
		stop() {
			clearInterval(timer);
			return peak;
		}
	};
}

export interface CloseEvent {
	code: number;
	reason: string;
}

/**
 * A raw socket that authenticates to `docName`, waits for the answer, then sends `count` sync step
 * 1s with an empty state vector at once: each asks for the whole document. Resolves with the close.
 */
export async function floodSyncStep1(
	url: string,
	docName: string,
	token: string,
	count: number
): Promise<CloseEvent> {
	const ws = new WebSocket(url);
	ws.on('error', () => {});
	const closed = new Promise<CloseEvent>((resolve) =>
		ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
	);
	await waitFor('flooder open', (done) => ws.once('open', () => done()));
	const answered = waitFor('flooder authenticated', (done) => ws.once('message', () => done()));
	ws.send(authFrame(docName, token));
	await answered;
	const frame = syncStep1Frame(docName);
	for (let i = 0; i < count && ws.readyState === WebSocket.OPEN; i++) ws.send(frame);
	return closed;
}

/**
 * An honest pair on one document: `editor` adds a material, `observer` waits until it sees it.
 * Returns the milliseconds from the edit to its arrival (for the bench; tests only wait for it).
 */
export function relayEdit(
	editor: { doc: Y.Doc; userId: string },
	observer: HocuspocusProvider,
	label: string,
	timeoutMs = 15_000
): Promise<number> {
	const root = observer.document.getMap('materials');
	const startedMs = performance.now();
	const [id] = addMaterials(editor.doc, 1, editor.userId, label) as [string];
	return waitFor(
		`edit ${label} relayed`,
		(done) => {
			const check = () => {
				if (!root.has(id)) return;
				root.unobserve(check);
				done(performance.now() - startedMs);
			};
			root.observe(check);
			check();
		},
		timeoutMs
	);
}
