// Bare Hocuspocus for `npm run bench:server`: `new Server()` with no extensions — no auth, no write
// rules, no storage — the reference our server's fan-out latency is compared against.
import type { AddressInfo } from 'node:net';
import { Server } from '@hocuspocus/server';

const server = new Server({ port: 0, address: '127.0.0.1', quiet: true });
await server.listen();
const { port } = server.httpServer.address() as AddressInfo;
console.log(JSON.stringify({ msg: 'listening', port }));
process.on('SIGTERM', () => {
	void server.destroy().then(() => process.exit(0));
});
