// CPU and RSS of the bench's server processes and of the Postgres backends serving them, read from
// /proc (Linux). Method (README "Against peers"): a sampler reads, every `sampleMs`,
// `/proc/<pid>/stat` utime+stime and `/proc/<pid>/status` VmRSS of every server process, and of every
// Postgres backend whose `application_name` (set in the server's connection string) names one of our
// servers — found in `pg_stat_activity`. Postgres runs on this machine, so its backends' /proc is
// readable. A backend's CPU counts from the mark (or from its start, when it appeared after the mark)
// to its last sample, so a pool connection that closes between samples loses at most one interval.
// Not counted: Postgres' shared processes (WAL writer, checkpointer, background writer), which
// other users of the same cluster also drive.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of `pid` in seconds, or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// Fields after the parenthesised command name (which may hold spaces): state is field 3.
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
	} catch {
		return undefined;
	}
}

/** VmRSS of `pid` in bytes, or undefined when it is gone. */
export function rssBytes(pid: number): number | undefined {
	try {
		const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) * 1024 : undefined;
	} catch {
		return undefined;
	}
}

interface Tracked {
	/** Server process pid, or undefined for a label with only Postgres backends. */
	pid: number;
	/** `application_name` of its Postgres connections, when it has any. */
	appName?: string;
}

/** Samples CPU/RSS of labelled servers (and their Postgres backends) until `stop()`. */
export class ProcSampler {
	readonly #targets: Map<string, Tracked>;
	readonly #pool: pg.Pool;
	/** Last CPU seconds seen per pid; pid → label for backends. */
	readonly #last = new Map<number, number>();
	readonly #backendOf = new Map<number, string>();
	#mark = new Map<number, number>();
	#rssPeak = new Map<string, number>();
	#timer: NodeJS.Timeout | undefined;
	#sampling: Promise<void> = Promise.resolve();

	constructor(targets: Map<string, Tracked>, databaseUrl: string, sampleMs = 500) {
		this.#targets = targets;
		this.#pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
		this.#timer = setInterval(() => {
			this.#sampling = this.sample();
		}, sampleMs);
	}

	async sample(): Promise<void> {
		const names = [...this.#targets.values()].flatMap((t) => (t.appName ? [t.appName] : []));
		const { rows } = await this.#pool.query<{ pid: number; application_name: string }>(
			'SELECT pid, application_name FROM pg_stat_activity WHERE application_name = ANY($1)',
			[names]
		);
		for (const [label, t] of this.#targets) {
			const cpu = cpuSeconds(t.pid);
			if (cpu !== undefined) this.#last.set(t.pid, cpu);
			const rss = rssBytes(t.pid);
			if (rss !== undefined) this.#rssPeak.set(label, Math.max(this.#rssPeak.get(label) ?? 0, rss));
		}
		for (const row of rows) {
			const label = [...this.#targets].find(([, t]) => t.appName === row.application_name)?.[0];
			if (!label) continue;
			this.#backendOf.set(row.pid, label);
			const cpu = cpuSeconds(row.pid);
			if (cpu !== undefined) this.#last.set(row.pid, cpu);
		}
	}

	/** Starts a measured span: CPU from now on; RSS peaks from now on. */
	async mark(): Promise<void> {
		await this.#sampling;
		await this.sample();
		this.#mark = new Map(this.#last);
		this.#rssPeak = new Map();
		await this.sample();
	}

	/** CPU seconds since the last mark: the server process, and its Postgres backends. */
	async read(label: string): Promise<{ serverS: number; postgresS: number; rssPeakBytes: number }> {
		await this.#sampling;
		await this.sample();
		const t = this.#targets.get(label);
		if (!t) throw new Error(`unknown server ${label}`);
		const since = (pid: number) => (this.#last.get(pid) ?? 0) - (this.#mark.get(pid) ?? 0);
		let postgresS = 0;
		for (const [pid, owner] of this.#backendOf) if (owner === label) postgresS += since(pid);
		return { serverS: since(t.pid), postgresS, rssPeakBytes: this.#rssPeak.get(label) ?? 0 };
	}

	async stop(): Promise<void> {
		clearInterval(this.#timer);
		await this.#sampling.catch(() => {});
		await this.#pool.end();
	}
}
