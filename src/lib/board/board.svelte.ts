import { subscribeBoardEvents } from '$lib/api/board-events.ts';
import { ApiError, api } from '$lib/api/index.ts';
import type { Board } from '$lib/api/types.ts';
import { session } from '$lib/session/store.svelte.ts';

/**
 * The board's data: the saved copy at once, then the server's answer, then a re-fetch on every
 * SSE `change` (and when the network comes back). One instance per open board page.
 */
export class BoardState {
	board = $state.raw<Board | null>(null);
	fetchedAt = $state<number | null>(null);
	stale = $state(false);
	error = $state<string | null>(null);
	loading = $state(true);
	live = $state(false);

	private inFlight: Promise<void> | null = null;
	private again = false;

	constructor() {
		const saved = api.peek<Board>('/api/board');
		if (saved) {
			this.board = saved.data;
			this.fetchedAt = saved.fetchedAt;
			this.stale = true;
		}
	}

	/** Starts fetching and listening; returns the stop function (for `$effect`). */
	start(): () => void {
		void this.refresh();
		const token = session.token;
		const events = token
			? subscribeBoardEvents(
					token,
					() => void this.refresh(),
					(state) => (this.live = state === 'open')
				)
			: null;
		const onOnline = () => void this.refresh();
		window.addEventListener('online', onOnline);
		return () => {
			events?.close();
			window.removeEventListener('online', onOnline);
		};
	}

	/** One fetch at a time; a change during a fetch triggers exactly one more. */
	refresh(): Promise<void> {
		if (this.inFlight) {
			this.again = true;
			return this.inFlight;
		}
		this.inFlight = (async () => {
			try {
				const result = await api.board();
				this.board = result.data;
				this.fetchedAt = result.fetchedAt;
				this.stale = result.stale;
				this.error = null;
			} catch (e) {
				this.error =
					e instanceof ApiError && e.isNetwork
						? 'No connection, and no saved copy of the board on this device yet.'
						: e instanceof Error
							? e.message
							: 'Could not load the board.';
			} finally {
				this.loading = false;
				this.inFlight = null;
				if (this.again) {
					this.again = false;
					void this.refresh();
				}
			}
		})();
		return this.inFlight;
	}
}
