// A Hocuspocus 4.7 peer of `npm run bench:peers`: `new Server()` with no extensions ("bare"), or —
// when PEER_DATABASE_URL is set — with @hocuspocus/extension-database storing each document's
// encoded state to a Postgres table through `pg` (its defaults: store debounced 2 s, at most 10 s).
// Logs `{"msg":"listening","port":…}` like our server, so server-process.ts can start it.
import type { AddressInfo } from 'node:net';
import { Database } from '@hocuspocus/extension-database';
import { Server } from '@hocuspocus/server';
import pg from 'pg';

const databaseUrl = process.env.PEER_DATABASE_URL;
const pool = databaseUrl ? new pg.Pool({ connectionString: databaseUrl }) : undefined;
if (pool) {
	await pool.query('CREATE TABLE IF NOT EXISTS peer_documents (name text PRIMARY KEY, data bytea NOT NULL)');
}

const server = new Server({
	port: 0,
	address: '127.0.0.1',
	quiet: true,
	extensions: pool
		? [
				new Database({
					fetch: async ({ documentName }) => {
						const { rows } = await pool.query<{ data: Buffer }>(
							'SELECT data FROM peer_documents WHERE name = $1',
							[documentName]
						);
						return rows[0] ? new Uint8Array(rows[0].data) : null;
					},
					store: async ({ documentName, state }) => {
						await pool.query(
							'INSERT INTO peer_documents (name, data) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data',
							[documentName, state]
						);
					}
				})
			]
		: []
});
await server.listen();
const { port } = server.httpServer.address() as AddressInfo;
console.log(JSON.stringify({ msg: 'listening', port }));
process.on('SIGTERM', () => {
	void server
		.destroy()
		.then(() => pool?.end())
		.then(() => process.exit(0));
});
