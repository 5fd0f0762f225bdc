import pino, { type Logger } from 'pino';

export type { Logger };

const LEVELS: Record<number, { label: string; color: number }> = {
	10: { label: 'TRACE', color: 90 },
	20: { label: 'DEBUG', color: 36 },
	30: { label: 'INFO', color: 32 },
	40: { label: 'WARN', color: 33 },
	50: { label: 'ERROR', color: 31 },
	60: { label: 'FATAL', color: 35 }
};

/** Keys every line has; the rest are printed as `key=value`. */
const FIXED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'subsystem', 'err']);

/**
 * One pino JSON line → one line for a person: `12:03:04.567 INFO  [sync] listening port=3000`, an
 * error's stack on the lines after. A tiny in-repo formatter instead of pino-pretty (a dependency
 * and a worker thread for a few lines of formatting).
 */
export function formatLogLine(line: string, color: boolean): string {
	let entry: Record<string, unknown>;
	try {
		entry = JSON.parse(line) as Record<string, unknown>;
	} catch {
		return line;
	}
	const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
	const level = LEVELS[Number(entry.level)] ?? { label: String(entry.level), color: 0 };
	const time = new Date(Number(entry.time)).toISOString().slice(11, 23);
	const subsystem = entry.subsystem ? paint(90, `[${String(entry.subsystem)}] `) : '';
	const fields = Object.entries(entry)
		.filter(([key]) => !FIXED.has(key))
		.map(
			([key, value]) => `${paint(90, `${key}=`)}${typeof value === 'string' ? value : JSON.stringify(value)}`
		)
		.join(' ');
	let out = `${paint(90, time)} ${paint(level.color, level.label.padEnd(5))} ${subsystem}${String(entry.msg ?? '')}${fields ? ` ${fields}` : ''}`;
	const err = entry.err as { message?: string; stack?: string } | undefined;
	if (err) out += `\n${paint(31, err.stack ?? err.message ?? JSON.stringify(err))}`;
	return `${out}\n`;
}

/** A pino destination that writes `formatLogLine` to `out`. */
function prettyDestination(out: NodeJS.WriteStream, color: boolean): { write(line: string): void } {
	return {
		write(chunk: string) {
			for (const line of chunk.split('\n')) if (line !== '') out.write(formatLogLine(line, color));
		}
	};
}

/**
 * The process logger, level from `LOG_LEVEL` (default `info`). Pretty lines when stdout is a
 * terminal, JSON lines otherwise (files, pipes, log collectors); `LOG_FORMAT=json|pretty` overrides.
 */
export function createLogger(
	options: { level?: string; name?: string; format?: 'json' | 'pretty' | undefined } = {}
): Logger {
	const format =
		options.format ??
		(process.env.LOG_FORMAT === 'json' || process.env.LOG_FORMAT === 'pretty'
			? process.env.LOG_FORMAT
			: process.stdout.isTTY
				? 'pretty'
				: 'json');
	const settings = {
		name: options.name ?? 'khs-sync',
		level: options.level ?? process.env.LOG_LEVEL ?? 'info',
		// Never log credentials, even when a request object ends up in a log line.
		redact: [
			'req.headers.authorization',
			'headers.authorization',
			'password',
			'*.password',
			'token',
			'*.token'
		]
	};
	if (format === 'pretty')
		return pino(settings, prettyDestination(process.stdout, process.stdout.isTTY === true));
	return pino(settings);
}

/** A logger that discards everything; the default for tests and library use. */
export function silentLogger(): Logger {
	return pino({ level: 'silent' });
}
