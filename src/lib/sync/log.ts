/**
 * In-memory history for the debug export (the spec's debug log): sync events and client errors of
 * this session, bounded so a long day on site cannot grow them without limit.
 */
export interface LogEntry {
	at: number;
	event: string;
	detail?: Record<string, unknown>;
}

export const logDefaults = { maxEntries: 300 } as const;

const history: LogEntry[] = [];
const errors: LogEntry[] = [];

function push(list: LogEntry[], entry: LogEntry): void {
	list.push(entry);
	if (list.length > logDefaults.maxEntries) list.splice(0, list.length - logDefaults.maxEntries);
}

export function logSync(event: string, detail?: Record<string, unknown>): void {
	push(history, { at: Date.now(), event, detail });
}

export function logError(event: string, detail?: Record<string, unknown>): void {
	push(errors, { at: Date.now(), event, detail });
}

export function syncHistory(): readonly LogEntry[] {
	return history;
}

export function errorLog(): readonly LogEntry[] {
	return errors;
}

/** Catches what would otherwise only reach the console. */
export function captureErrors(target: Window): void {
	target.addEventListener('error', (e) =>
		logError('error', { message: e.message, source: e.filename, line: e.lineno })
	);
	target.addEventListener('unhandledrejection', (e) =>
		logError('unhandledrejection', { reason: String(e.reason) })
	);
}
