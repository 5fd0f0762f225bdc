import pino, { type Logger } from 'pino';

export type { Logger };

/** The process logger: JSON lines on stdout, level from `LOG_LEVEL` (default `info`). */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
	return pino({
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
	});
}

/** A logger that discards everything; the default for tests and library use. */
export function silentLogger(): Logger {
	return pino({ level: 'silent' });
}
