// The five servers of `npm run bench:peers`, each its own process started like `npm start` starts
// ours (tests/integration/support/server-process.ts), with --expose-gc, the memory probe
// (tests/bench/memory-probe.mjs: on "mem" it collects garbage and answers process.memoryUsage())
// and the event-loop probe (tests/bench/peers/loop-probe.mjs).
import {
	login,
	type ServerProcess,
	startServerProcess,
	type TestDatabase
} from '../../integration/support/server-process.ts';
import { metricsToken } from '../metrics-text.ts';
import type { Dialect } from './client.ts';

export type PeerId = 'khs' | 'bare' | 'hpdb' | 'yws' | 'floor';

export interface Peer {
	id: PeerId;
	label: string;
	server: ServerProcess;
	/** `application_name` of its Postgres connections (servers that use Postgres). */
	appName?: string;
	/** What its clients connect to, and how. */
	url: string;
	dialect: Dialect;
	token: string;
}

export const peerLabels: Record<PeerId, string> = {
	khs: 'KHS (pg)',
	bare: 'bare HP',
	hpdb: 'HP+DB',
	yws: 'y-ws',
	floor: 'floor'
};

const probe = [
	'--expose-gc',
	'--import',
	'./tests/bench/memory-probe.mjs',
	'--import',
	'./tests/bench/peers/loop-probe.mjs'
];

function withAppName(databaseUrl: string, appName: string): string {
	const url = new URL(databaseUrl);
	url.searchParams.set('application_name', appName);
	return url.toString();
}

export async function startPeer(
	id: PeerId,
	database: TestDatabase,
	runTag: string,
	nodeArgs: string[] = []
): Promise<Peer> {
	const appName = `bench-peers-${runTag}-${id}`;
	const label = peerLabels[id];
	const start = (script: string, env: Record<string, string> = {}) =>
		startServerProcess({
			databaseUrl: database.databaseUrl,
			script,
			nodeArgs: [...probe, ...nodeArgs, '--import', 'tsx'],
			ipc: true,
			env
		});
	switch (id) {
		case 'khs': {
			const server = await startServerProcess({
				databaseUrl: withAppName(database.databaseUrl, appName),
				nodeArgs: [...probe, ...nodeArgs],
				ipc: true,
				// Every bench socket comes from 127.0.0.1: lift the per-address limit above the load.
				env: { MAX_SOCKETS_PER_ADDRESS: '50000', METRICS_TOKEN: metricsToken }
			});
			return {
				id,
				label,
				server,
				appName,
				url: server.ws,
				dialect: 'hocuspocus',
				token: await login(server.http, 'bench@khs.test')
			};
		}
		case 'bare':
		case 'hpdb': {
			const server = await start(
				'tests/bench/peers/hocuspocus-server.ts',
				id === 'hpdb' ? { PEER_DATABASE_URL: withAppName(database.databaseUrl, appName) } : {}
			);
			return {
				id,
				label,
				server,
				...(id === 'hpdb' ? { appName } : {}),
				url: server.ws,
				dialect: 'hocuspocus',
				token: 'no-auth'
			};
		}
		case 'yws': {
			const server = await start('tests/bench/peers/y-websocket-server.ts');
			return {
				id,
				label,
				server,
				url: server.http.replace('http', 'ws'),
				dialect: 'y-websocket',
				token: 'x'
			};
		}
		case 'floor': {
			const server = await start('tests/bench/peers/relay-server.ts');
			return { id, label, server, url: server.http.replace('http', 'ws'), dialect: 'relay', token: 'x' };
		}
	}
}

/** The server's RSS after two full GCs (the memory probe), bytes. */
export function gcRss(peer: Peer): Promise<number> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no memory answer from ${peer.label}`)), 20_000);
		peer.server.proc.once('message', (m: { rss: number }) => {
			clearTimeout(timer);
			resolve(m.rss);
		});
		peer.server.proc.send?.('mem');
	});
}
