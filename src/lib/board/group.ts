import type { BoardJob } from '$lib/api/types.ts';
import { JOB_STATUSES, type JobStatus } from '$lib/format/status.ts';

/**
 * Board columns in workflow order, each sorted by what a crew needs next: scheduled start
 * (unscheduled last), then title. Unknown statuses (a newer server) land in "lead" rather than vanish.
 */
export function groupByStatus<J extends BoardJob>(
	jobs: readonly J[]
): Array<{ status: JobStatus; jobs: J[] }> {
	const groups = new Map<JobStatus, J[]>(JOB_STATUSES.map((s) => [s, []]));
	for (const job of jobs) (groups.get(job.status) ?? groups.get('lead'))?.push(job);
	return JOB_STATUSES.map((status) => ({
		status,
		jobs: (groups.get(status) ?? []).sort(
			(a, b) =>
				(a.scheduledStart ?? Number.MAX_SAFE_INTEGER) - (b.scheduledStart ?? Number.MAX_SAFE_INTEGER) ||
				a.title.localeCompare(b.title)
		)
	}));
}

export function materialProgress(m: BoardJob['materials']): number {
	return m.total === 0 ? 0 : Math.round((m.purchased / m.total) * 100);
}
