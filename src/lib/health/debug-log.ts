import type { FieldConflict } from '$crdt/entity.ts';
import type { LogEntry } from '$lib/sync/log.ts';
import type { PendingChange } from '$lib/sync/pending.ts';

/**
 * The spec's debug log export: `{deviceInfo, syncHistory, pendingOperations, conflicts,
 * localStorage, errorLog}`. Built from plain inputs so it is testable; secrets never leave.
 */
export interface DebugLog {
	deviceInfo: Record<string, unknown>;
	syncHistory: readonly LogEntry[];
	pendingOperations: Array<{ document: string } & PendingChange>;
	conflicts: Array<{ document: string } & Omit<FieldConflict, 'entries'> & { entries: number }>;
	localStorage: Record<string, string>;
	errorLog: readonly LogEntry[];
}

export interface DebugInputs {
	deviceInfo: Record<string, unknown>;
	syncHistory: readonly LogEntry[];
	pending: Array<{ document: string; changes: readonly PendingChange[] }>;
	conflicts: Array<{ document: string; conflicts: readonly FieldConflict[] }>;
	storage: Storage | null;
	errorLog: readonly LogEntry[];
}

/** Keys whose values are credentials: exported as "[redacted]". */
const SECRET_KEYS = ['khs:session'];

export function buildDebugLog(input: DebugInputs): DebugLog {
	const storage: Record<string, string> = {};
	if (input.storage) {
		for (let i = 0; i < input.storage.length; i++) {
			const key = input.storage.key(i);
			if (key === null) continue;
			storage[key] = SECRET_KEYS.includes(key)
				? redactSession(input.storage.getItem(key))
				: (input.storage.getItem(key) ?? '');
		}
	}
	return {
		deviceInfo: input.deviceInfo,
		syncHistory: input.syncHistory,
		pendingOperations: input.pending.flatMap(({ document, changes }) =>
			changes.map((c) => ({ document, ...c }))
		),
		conflicts: input.conflicts.flatMap(({ document, conflicts }) =>
			conflicts.map(({ entries, ...rest }) => ({ document, ...rest, entries: entries.length }))
		),
		localStorage: storage,
		errorLog: input.errorLog
	};
}

/** Keeps who was signed in (useful when debugging), drops the token. */
function redactSession(raw: string | null): string {
	try {
		const parsed = JSON.parse(raw ?? 'null') as { user?: unknown } | null;
		return JSON.stringify({ token: '[redacted]', user: parsed?.user ?? null });
	} catch {
		return '[redacted]';
	}
}

export function downloadJson(filename: string, data: unknown): void {
	const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
	const url = URL.createObjectURL(blob);
	const a = document.createElement('a');
	a.href = url;
	a.download = filename;
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 1_000);
}
