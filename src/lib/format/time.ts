/** Human times for a crew: "just now", "5 min ago", "yesterday 14:05". */
export function relativeTime(at: number, now = Date.now()): string {
	const s = Math.round((now - at) / 1000);
	if (s < 45) return 'just now';
	const m = Math.round(s / 60);
	if (m < 60) return `${m} min ago`;
	const h = Math.round(m / 60);
	if (h < 24) return `${h} h ago`;
	const d = new Date(at);
	return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}

export function formatDate(ms: number | null | undefined): string {
	if (ms === null || ms === undefined) return '—';
	return new Date(ms).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
}

/** "Mon 3 Mar – Wed 5 Mar", or what is known of it. */
export function formatRange(start: number | null, end: number | null): string {
	if (start === null && end === null) return 'Not scheduled';
	if (start !== null && end !== null) return `${formatDate(start)} – ${formatDate(end)}`;
	return start !== null ? `From ${formatDate(start)}` : `Until ${formatDate(end)}`;
}

/** Value for an `<input type="date">` from epoch ms (local date), and back. */
export function toDateInput(ms: number | null): string {
	if (ms === null) return '';
	const d = new Date(ms);
	return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function fromDateInput(value: string): number | null {
	if (!value) return null;
	const [y, m, d] = value.split('-').map(Number);
	if (!y || !m || !d) return null;
	return new Date(y, m - 1, d).getTime();
}
