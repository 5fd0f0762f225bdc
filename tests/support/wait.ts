import { setTimeout as delay } from 'node:timers/promises';

/**
 * The two ways a test waits, and the only two: never a bare sleep standing in for a condition.
 * - `waitFor`: an event will call `done` (a socket message, a log line, a Y.Doc update).
 * - `waitUntil`: no event tells us, so poll a condition (a database row, a process gone).
 * Both reject naming what they waited for, so a timeout reads as a sentence.
 */
export const waitDefaults = {
	timeoutMs: 10_000,
	/** Poll interval of `waitUntil`: short next to any timeout, long enough not to spin a core. */
	intervalMs: 20
} as const;

export interface WaitOptions {
	timeoutMs?: number;
	/** What is awaited, for the timeout message ("the row to be projected"). */
	what?: string;
	intervalMs?: number;
}

/**
 * Polls `check` until it returns something other than `false`/`undefined`/`null`, and resolves
 * with that value (so a lookup can be awaited: `await waitUntil(() => rows.find(...))`).
 * A `check` that throws fails the wait at once: a wrong answer is not a "not yet".
 */
export async function waitUntil<T>(
	check: () => T | false | undefined | null | Promise<T | false | undefined | null>,
	options: WaitOptions = {}
): Promise<T> {
	const timeoutMs = options.timeoutMs ?? waitDefaults.timeoutMs;
	const intervalMs = options.intervalMs ?? waitDefaults.intervalMs;
	const deadline = performance.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== false && value !== undefined && value !== null) return value;
		if (performance.now() > deadline) {
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}`);
		}
		await delay(intervalMs); // poll interval of a condition wait, not a sleep for time to pass
	}
}

/**
 * Resolves with the value an event hands to `done`; `register` subscribes. Rejects naming `what`
 * after `ms`.
 */
export function waitFor<T = void>(
	what: string,
	register: (done: (value: T) => void) => void,
	ms: number = waitDefaults.timeoutMs
): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
		register((value) => {
			clearTimeout(timer);
			resolve(value);
		});
	});
}

/** The part of a Y.Doc a wait listens to (structural, so this file needs no yjs import). */
interface UpdateEmitter {
	on(event: 'update', listener: () => void): void;
	off(event: 'update', listener: () => void): void;
}

/** `waitFor` over Y.Doc updates: resolves once `check` holds, re-checked after every update of any of `docs`. */
export function waitForDocs(
	docs: readonly UpdateEmitter[],
	check: () => boolean,
	options: { timeoutMs?: number; what: string }
): Promise<void> {
	let onUpdate = () => {};
	const waiting = waitFor(
		options.what,
		(done) => {
			onUpdate = () => {
				if (check()) done();
			};
			for (const doc of docs) doc.on('update', onUpdate);
			onUpdate();
		},
		options.timeoutMs
	);
	return waiting.finally(() => {
		for (const doc of docs) doc.off('update', onUpdate);
	});
}
