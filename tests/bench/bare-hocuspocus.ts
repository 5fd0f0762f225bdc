// Bare Hocuspocus for `npm run bench:server`: `new Server()` with no extensions — no auth, no write
// rules, no storage — the reference our server's fan-out latency is compared against.
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Server } from '@hocuspocus/server';

const server = new Server({ port: 0, address: '127.0.0.1', quiet: true });
await server.listen();
const { port } = server.httpServer.address() as AddressInfo;
console.log(JSON.stringify({ msg: 'listening', port }));
process.on('SIGTERM', () => {
	void server.destroy().then(() => process.exit(0));
});

// Event-loop delay over IPC (when the bench opened a channel), measured like our server's
// prom-client gauges (same monitor, 10 ms resolution): `reset` at a window's start, `read` at its end.
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
process.on('message', (message: { type: 'loop-reset' | 'loop-read' }) => {
	const reply = { type: message.type, p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
	if (message.type === 'loop-reset') delay.reset();
	process.send?.(reply);
});
