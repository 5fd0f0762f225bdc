/**
 * Live board: `GET /api/board/events?token=…` is a Server-Sent Events stream that emits
 * `event: change` whenever anything on the board changed; the page then re-fetches `/api/board`.
 * EventSource cannot send headers, hence the token in the query.
 */
export const boardEventsDefaults = {
	/** Several changes in a burst (a crew ticking ten materials) cost one re-fetch. */
	coalesceMs: 150,
	/** EventSource retries by itself; after an error we also re-fetch once it reopens. */
	path: '/api/board/events'
} as const;

export interface BoardEvents {
	close(): void;
}

export function subscribeBoardEvents(
	token: string,
	onChange: () => void,
	onState?: (state: 'open' | 'error') => void,
	EventSourceImpl: typeof EventSource = EventSource
): BoardEvents {
	const source = new EventSourceImpl(`${boardEventsDefaults.path}?token=${encodeURIComponent(token)}`);
	let timer: ReturnType<typeof setTimeout> | undefined;
	const schedule = () => {
		if (timer) return;
		timer = setTimeout(() => {
			timer = undefined;
			onChange();
		}, boardEventsDefaults.coalesceMs);
	};
	let hadError = false;
	source.addEventListener('change', schedule);
	source.addEventListener('open', () => {
		onState?.('open');
		// Changes made while the stream was down were not announced: catch up.
		if (hadError) schedule();
		hadError = false;
	});
	source.addEventListener('error', () => {
		hadError = true;
		onState?.('error');
	});
	return {
		close() {
			clearTimeout(timer);
			source.close();
		}
	};
}
