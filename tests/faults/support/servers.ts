import { setTimeout as delay } from 'node:timers/promises';
import {
	killIfRunning,
	type ServerProcess,
	startServerProcess
} from '../../integration/support/server-process.ts';

/** Server processes (scripts/start.mjs) a scenario started; `stopAll` kills only these, by handle. */
export class ServerFleet {
	readonly started: ServerProcess[] = [];

	async start(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
		const server = await startServerProcess({ databaseUrl, env, startTimeoutMs: 60_000 });
		this.started.push(server);
		return server;
	}

	async stopAll(): Promise<void> {
		for (const server of this.started) await killIfRunning(server);
	}
}

export interface Health {
	status: number;
	body: { ok?: boolean; db?: string } | null;
}

export async function healthz(http: string): Promise<Health> {
	try {
		const res = await fetch(`${http}/healthz`, { signal: AbortSignal.timeout(5_000) });
		return { status: res.status, body: (await res.json().catch(() => null)) as Health['body'] };
	} catch {
		return { status: 0, body: null };
	}
}

/** Polls `/healthz` until `want` holds (or `ms` passes); returns the last answer. */
export async function healthUntil(http: string, want: (h: Health) => boolean, ms = 30_000): Promise<Health> {
	const deadline = performance.now() + ms;
	for (;;) {
		const health = await healthz(http);
		if (want(health) || performance.now() > deadline) return health;
		await delay(100); // poll interval
	}
}

/** A random moment in [minMs, maxMs): when the fault strikes, unrelated to any commit cycle. */
export function randomMoment(random: () => number, minMs: number, maxMs: number): Promise<void> {
	return delay(minMs + Math.floor(random() * (maxMs - minMs)));
}
