import { JOB_STATUSES, type JobStatus } from '$crdt/schema.ts';

export const STATUS_LABELS: Record<JobStatus, string> = {
	lead: 'Lead',
	scheduled: 'Scheduled',
	in_progress: 'In progress',
	on_hold: 'On hold',
	done: 'Done',
	cancelled: 'Cancelled'
};

export const STATUS_COLORS: Record<JobStatus, string> = {
	lead: '#6b7280',
	scheduled: '#1d4ed8',
	in_progress: '#c2410c',
	on_hold: '#a16207',
	done: '#15803d',
	cancelled: '#9ca3af'
};

export { JOB_STATUSES, type JobStatus };

export function statusLabel(status: string): string {
	return STATUS_LABELS[status as JobStatus] ?? status;
}
