import { setTimeout as delay } from 'node:timers/promises';

/** Polls `condition` every 50 ms until it holds; rejects naming `what` after `ms`. */
export async function until(
	what: string,
	condition: () => boolean | Promise<boolean>,
	ms = 15_000
): Promise<void> {
	const deadline = performance.now() + ms;
	while (!(await condition())) {
		if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
		await delay(50); // poll interval
	}
}
