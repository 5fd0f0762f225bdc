import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy the fault suite controls, standing between a server and its Postgres or Redis.
 * - `pass`: bytes flow both ways.
 * - `drop`: connections are accepted but every byte either way is discarded (a black hole: what a
 *   client sees when a switch eats its packets). A connection that lost bytes cannot carry its
 *   protocol on, so `heal()` resets it, as the peer's TCP would after its retransmits timed out.
 * - `delay`: every chunk is forwarded after `delayMs` (order kept).
 * - `half-open`: one direction (`direction`) stops being forwarded; the other still flows. Held
 *   bytes are discarded, and `heal()` resets those connections like `drop`.
 */
export type ProxyMode =
	| { kind: 'pass' }
	| { kind: 'drop' }
	| { kind: 'delay'; delayMs: number }
	| { kind: 'half-open'; direction: 'to-target' | 'to-client' };

export interface TcpProxy {
	readonly port: number;
	readonly host: string;
	readonly mode: ProxyMode;
	setMode(mode: ProxyMode): void;
	/** Back to `pass`; connections that lost bytes meanwhile are reset. */
	heal(): void;
	/** Open client connections right now. */
	readonly connections: number;
	close(): Promise<void>;
}

interface Pair {
	client: Socket;
	target: Socket;
	/** Bytes were discarded on this pair: its stream is broken. */
	lost: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
	let mode: ProxyMode = { kind: 'pass' };
	const pairs = new Set<Pair>();

	function forward(pair: Pair, from: Socket, to: Socket, direction: 'to-target' | 'to-client') {
		from.on('data', (chunk: Buffer) => {
			const m = mode;
			if (m.kind === 'drop' || (m.kind === 'half-open' && m.direction === direction)) {
				pair.lost = true;
				return;
			}
			if (m.kind === 'delay') {
				// Pause the source so order is kept and memory stays bounded while the chunk waits.
				from.pause();
				setTimeout(() => {
					if (!to.destroyed) to.write(chunk);
					from.resume();
				}, m.delayMs);
				return;
			}
			if (!to.destroyed) to.write(chunk);
		});
	}

	const server: Server = createServer((client) => {
		const upstream = new Socket();
		const pair: Pair = { client, target: upstream, lost: false };
		pairs.add(pair);
		const end = () => {
			pairs.delete(pair);
			client.destroy();
			upstream.destroy();
		};
		client.on('error', end);
		client.on('close', end);
		upstream.on('error', end);
		upstream.on('close', end);
		upstream.connect(target.port, target.host);
		forward(pair, client, upstream, 'to-target');
		forward(pair, upstream, client, 'to-client');
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const address = server.address();
	if (!address || typeof address === 'string') throw new Error('proxy has no port');

	return {
		port: address.port,
		host: '127.0.0.1',
		get mode() {
			return mode;
		},
		get connections() {
			return pairs.size;
		},
		setMode(next) {
			mode = next;
		},
		heal() {
			mode = { kind: 'pass' };
			for (const pair of [...pairs]) {
				if (!pair.lost) continue;
				pair.client.resetAndDestroy();
				pair.target.resetAndDestroy();
			}
		},
		async close() {
			for (const pair of [...pairs]) {
				pair.client.destroy();
				pair.target.destroy();
			}
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}
