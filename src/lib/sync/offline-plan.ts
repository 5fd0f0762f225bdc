import { docName, privateNotesDocName } from '$crdt/doc-names.ts';
import type { BoardJob } from '$lib/api/types.ts';

/**
 * Which documents a person needs on the device before leaving for the day: a crew member every job
 * they crew (the board API already lists only those), an owner every open job; each with its
 * material list, its customer, the person's own private notes on it and, for the owner, its
 * owner-only part (docs/documents.md). Ordered by the board's order of urgency (soonest start first),
 * so when only some can be kept live, the next jobs are the live ones.
 */
export const OPEN_STATUSES: ReadonlySet<string> = new Set(['lead', 'scheduled', 'in_progress', 'on_hold']);

export interface OfflinePlan {
	/** Job ids, most urgent first. */
	jobs: string[];
	/** Document names, most urgent first, no duplicates (two jobs may share a customer). */
	names: string[];
}

export function planOffline(jobs: readonly BoardJob[], isOwner: boolean, userId: string): OfflinePlan {
	const chosen = jobs
		.filter((j) => !isOwner || OPEN_STATUSES.has(j.status))
		.sort(
			(a, b) =>
				(a.scheduledStart ?? Number.MAX_SAFE_INTEGER) - (b.scheduledStart ?? Number.MAX_SAFE_INTEGER) ||
				a.title.localeCompare(b.title)
		);
	const names = new Set<string>();
	for (const job of chosen) {
		names.add(docName('job', job.id));
		names.add(docName('materials', job.id));
		// The job's owner-only part (price) for the owner; everyone's own private notes on it.
		if (isOwner) names.add(docName('job-owner', job.id));
		names.add(privateNotesDocName(job.id, userId));
		if (job.customer) names.add(docName('customer', job.customer.id));
	}
	return { jobs: chosen.map((j) => j.id), names: [...names] };
}
