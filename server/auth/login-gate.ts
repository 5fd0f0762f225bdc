import { authDefaults } from './defaults.ts';

/** LOGIN-4: the login queue is full, or a login waited too long for a slot. */
export class LoginBusyError extends Error {
	override readonly name = 'LoginBusyError';
	constructor(
		readonly code: 'queue_full' | 'wait_timeout',
		/** What to put in Retry-After. */
		readonly retryAfterMs: number
	) {
		super(code === 'queue_full' ? 'too many logins at once' : 'login waited too long for a slot');
	}
}

/**
 * LOGIN-4 (docs/server-rules.md "Login"): at most `maxConcurrent` logins do their work (user lookup
 * and the password hash, ~90 ms of a core each, passwords.ts) at once; up to `maxQueued` more wait in order,
 * and beyond that a login is refused at once with `LoginBusyError`. So a flood of logins costs a
 * bounded share of the CPU and at most `maxConcurrent` database connections: the update log and
 * the websocket keep theirs, and a flood is answered 429 instead of timing out on the pool (500).
 */
export interface LoginGate {
	/** Runs `work` when a slot is free; rejects with `LoginBusyError` when none frees up in time. */
	run<T>(work: () => Promise<T>): Promise<T>;
	/** Logins running and waiting now. */
	readonly load: { running: number; queued: number };
}

export function createLoginGate(
	options: { maxConcurrent?: number; maxQueued?: number; maxWaitMs?: number } = {}
): LoginGate {
	const maxConcurrent = options.maxConcurrent ?? authDefaults.loginMaxConcurrent;
	const maxQueued = options.maxQueued ?? authDefaults.loginMaxQueued;
	const maxWaitMs = options.maxWaitMs ?? authDefaults.loginMaxWaitMs;
	let running = 0;
	const queue: Array<{ start: () => void }> = [];

	// A finished login hands its slot straight to the next in line (`running` unchanged), so a
	// newcomer can never slip in between and exceed the limit.
	const release = () => {
		const next = queue.shift();
		if (next) next.start();
		else running--;
	};
	// One second is Retry-After's resolution; a full queue drains in about that at the default sizes.
	const retryAfterMs = 1_000;

	return {
		async run<T>(work: () => Promise<T>): Promise<T> {
			if (running < maxConcurrent) running++;
			else {
				if (queue.length >= maxQueued) throw new LoginBusyError('queue_full', retryAfterMs);
				await new Promise<void>((resolve, reject) => {
					const waiter = {
						start: () => {
							clearTimeout(timer);
							resolve();
						}
					};
					const timer = setTimeout(() => {
						const at = queue.indexOf(waiter);
						if (at >= 0) queue.splice(at, 1);
						reject(new LoginBusyError('wait_timeout', retryAfterMs));
					}, maxWaitMs);
					queue.push(waiter);
				});
			}
			try {
				return await work();
			} finally {
				release();
			}
		},
		get load() {
			return { running, queued: queue.length };
		}
	};
}
