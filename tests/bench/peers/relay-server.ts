// The relay floor of `npm run bench:peers`: a `ws` server that forwards every binary message of a
// socket to the other sockets of its document (the URL path) and keeps nothing — no Y.Doc, no
// storage, no auth. Whatever any real sync server costs on top of this is its own work.
//
// A relay holds no state, so a socket that joins cannot be sent the document; instead the relay
// sends each socket already in the document one empty message ("a peer joined"), and the bench's
// relay client answers it with its whole state as one update (tests/bench/peers/client.ts).
// Logs `{"msg":"listening","port":…}` like our server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

const joined = new Uint8Array(0);
const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ noServer: true });
const http = createServer((_request, response) => {
	response.writeHead(200);
	response.end();
});
http.on('upgrade', (request, socket, head) => {
	wss.handleUpgrade(request, socket, head, (ws) => {
		const name = (request.url ?? '/').slice(1).split('?')[0] as string;
		let room = rooms.get(name);
		if (!room) {
			room = new Set();
			rooms.set(name, room);
		}
		for (const other of room) other.send(joined);
		room.add(ws);
		ws.on('message', (data: Buffer, isBinary) => {
			if (!isBinary) return;
			for (const other of room) if (other !== ws) other.send(data);
		});
		ws.on('close', () => {
			room.delete(ws);
			if (room.size === 0) rooms.delete(name);
		});
	});
});
http.listen(0, '127.0.0.1', () => {
	const { port } = http.address() as AddressInfo;
	console.log(JSON.stringify({ msg: 'listening', port }));
});
process.on('SIGTERM', () => {
	for (const ws of wss.clients) ws.terminate();
	http.close(() => process.exit(0));
});
