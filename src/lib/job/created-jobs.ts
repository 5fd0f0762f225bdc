import type { BoardJob } from '$lib/api/types.ts';

/** A board card; `notSent` marks a job made on this device that the server does not list yet. */
export type ShownJob = BoardJob & { notSent?: boolean };

/**
 * Jobs this device created that the server's board does not list yet (made offline, or not yet
 * projected): the board shows them at once, marked "not sent yet", and forgets each one as soon as
 * the server's board has it. Kept per user in localStorage so a reload offline still shows them.
 */
const KEY_PREFIX = 'khs:created-jobs:';

export function createdJobs(storage: Storage, userId: string): BoardJob[] {
	try {
		const parsed = JSON.parse(storage.getItem(KEY_PREFIX + userId) ?? '[]') as unknown;
		return Array.isArray(parsed) ? (parsed as BoardJob[]) : [];
	} catch {
		return [];
	}
}

export function rememberCreatedJob(storage: Storage, userId: string, job: BoardJob): void {
	const jobs = createdJobs(storage, userId).filter((j) => j.id !== job.id);
	storage.setItem(KEY_PREFIX + userId, JSON.stringify([...jobs, job]));
}

/** The server's jobs plus the local ones it does not list yet; drops those it now has. */
export function withCreatedJobs(storage: Storage, userId: string, server: readonly BoardJob[]): ShownJob[] {
	const known = new Set(server.map((j) => j.id));
	const local = createdJobs(storage, userId);
	const pending = local.filter((j) => !known.has(j.id));
	if (pending.length !== local.length) {
		if (pending.length === 0) storage.removeItem(KEY_PREFIX + userId);
		else storage.setItem(KEY_PREFIX + userId, JSON.stringify(pending));
	}
	return [...server, ...pending.map((j) => ({ ...j, notSent: true }))];
}
