// Preloaded into every server by `npm run bench:peers` (plain JS: it loads before tsx): the server's
// own event-loop delay over each measured window, the same way for ours and the peers, so a latency
// tail can be told apart from the load generators' (README "Against peers"). A blocked loop — GC, a
// long synchronous step, or the process descheduled (Postgres is not pinned and may run on the
// server's core) — delays every socket the server holds.
// IPC: { type: 'loop-reset' } → { type: 'loop-reset' }; { type: 'loop-read' } → { type: 'loop', p99Ms, maxMs }.
import { monitorEventLoopDelay } from 'node:perf_hooks';

// 1 ms: the delay is measured against timers this far apart (Node's default is 10 ms).
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();

process.on('message', (message) => {
	if (message?.type === 'loop-reset') {
		delay.reset();
		process.send?.({ type: 'loop-reset' });
	} else if (message?.type === 'loop-read') {
		process.send?.({ type: 'loop', p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 });
	}
});
