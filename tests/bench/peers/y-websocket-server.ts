// The @y/websocket-server peer of `npm run bench:peers`: its `setupWSConnection` on a plain `ws`
// server, as its own bin/server.js wires it (no persistence, gc on), one document per socket named
// by the URL path. Logs `{"msg":"listening","port":…}` like our server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setupWSConnection } from '@y/websocket-server/utils';
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ noServer: true });
const http = createServer((_request, response) => {
	response.writeHead(200, { 'content-type': 'text/plain' });
	response.end('okay');
});
http.on('upgrade', (request, socket, head) => {
	wss.handleUpgrade(request, socket, head, (ws) => setupWSConnection(ws, request));
});
http.listen(0, '127.0.0.1', () => {
	const { port } = http.address() as AddressInfo;
	console.log(JSON.stringify({ msg: 'listening', port }));
});
process.on('SIGTERM', () => {
	for (const ws of wss.clients) ws.terminate();
	http.close(() => process.exit(0));
});
