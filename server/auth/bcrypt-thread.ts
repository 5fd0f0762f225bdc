import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Verifies the bcrypt hashes written before passwords moved to PBKDF2 (passwords.ts); the thread is
 * started only when one is met, and each login that verifies one replaces it.
 *
 * LOGIN-4: bcrypt comparisons run on one worker thread, not the event loop. bcryptjs is pure
 * JavaScript (~60–100 ms of CPU per compare at cost 10); on the event loop a burst of logins
 * froze request parsing, websocket fan-out and the update log's commits for seconds. On a thread
 * the event loop keeps accepting requests (and answering 429 when the login queue is full), and
 * the login gate (login-gate.ts) bounds how much work waits for the thread.
 *
 * The thread's source is a small CommonJS string (`eval`), so it needs no TypeScript loader in
 * whatever runs the server (tsx, vitest, Node's type stripping).
 */

const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');

const threadSource = `
const { parentPort } = require('node:worker_threads');
const bcrypt = require(${JSON.stringify(bcryptPath)});
parentPort.on('message', ({ id, password, hash }) => {
	let ok = false;
	try { ok = bcrypt.compareSync(password, hash); } catch { ok = false; }
	parentPort.postMessage({ id, ok });
});
`;

interface Pending {
	resolve(ok: boolean): void;
	reject(error: Error): void;
}

let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 1;

function thread(): Worker {
	if (worker) return worker;
	const w = new Worker(threadSource, { eval: true });
	// Idle, the thread must not keep the process (or a test run) alive.
	w.unref();
	w.on('message', ({ id, ok }: { id: number; ok: boolean }) => {
		const p = pending.get(id);
		pending.delete(id);
		p?.resolve(ok);
		if (pending.size === 0) w.unref();
	});
	const fail = (error: Error) => {
		if (worker === w) worker = undefined;
		for (const p of pending.values()) p.reject(error);
		pending.clear();
	};
	w.on('error', fail);
	w.on('exit', (code) => fail(new Error(`bcrypt thread exited with code ${code}`)));
	worker = w;
	return w;
}

/** `bcrypt.compare(password, hash)` on the bcrypt thread; false for a malformed hash. */
export function compareOnThread(password: string, hash: string): Promise<boolean> {
	const w = thread();
	const id = nextId++;
	return new Promise<boolean>((resolve, reject) => {
		pending.set(id, { resolve, reject });
		// Referenced while it has work, so a pending login keeps the process alive like any I/O.
		w.ref();
		w.postMessage({ id, password, hash });
	});
}
