// The bench's side of one load-generator process (tests/bench/peers/client.ts): fork it, pin it,
// send it requests over IPC and await the matching reply.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientReply, ClientRequest } from './client.ts';

const clientScript = fileURLToPath(new URL('./client.ts', import.meta.url));

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Request = DistributiveOmit<ClientRequest, 'id'>;

/** Pins every thread of `pid` to `cpu` with taskset; false when taskset is missing or refused. */
export function pin(pid: number, cpu: number | undefined): boolean {
	if (cpu === undefined) return false;
	try {
		execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

export class ClientSession {
	readonly proc: ChildProcess;
	#nextId = 0;
	readonly #pending = new Map<number, { resolve(reply: ClientReply): void; reject(error: Error): void }>();

	constructor(
		readonly label: string,
		cpu: number | undefined
	) {
		this.proc = fork(clientScript, [], {
			execArgv: [
				'--expose-gc',
				'--max-old-space-size=4096',
				// BENCH_CLIENT_PROFILE=<dir>: a V8 CPU profile of every load generator, written at exit.
				...(process.env.BENCH_CLIENT_PROFILE
					? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CLIENT_PROFILE}`]
					: []),
				'--import',
				'tsx'
			],
			stdio: ['ignore', 'inherit', 'inherit', 'ipc']
		});
		if (this.proc.pid !== undefined) pin(this.proc.pid, cpu);
		this.proc.on('message', (reply: ClientReply) => {
			const waiter = this.#pending.get(reply.id);
			this.#pending.delete(reply.id);
			if (reply.type === 'error') waiter?.reject(new Error(`${label} client: ${reply.message}`));
			else waiter?.resolve(reply);
		});
		this.proc.once('exit', (code, signal) => {
			for (const waiter of this.#pending.values())
				waiter.reject(new Error(`${label} client exited (${code ?? signal})`));
			this.#pending.clear();
		});
	}

	request<T extends ClientReply['type']>(body: Request): Promise<Extract<ClientReply, { type: T }>> {
		return new Promise((resolve, reject) => {
			const id = this.#nextId++;
			this.#pending.set(id, { resolve: resolve as (reply: ClientReply) => void, reject });
			this.proc.send({ ...body, id });
		});
	}

	/** Closes its replicas and ends the process. */
	async end(): Promise<void> {
		if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
		await this.request({ type: 'close' }).catch(() => {});
		const exited = new Promise((resolve) => this.proc.once('exit', resolve));
		// Closing the channel makes the client exit by itself (a CPU profile is written on exit).
		this.proc.disconnect();
		await exited;
	}
}
