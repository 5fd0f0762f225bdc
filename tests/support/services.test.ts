import pg from 'pg';
import { describe, expect, test } from 'vitest';
import {
	installServices,
	MissingServiceError,
	startThrowawayPostgres,
	startThrowawayRedis
} from './services.ts';

// The set-up `npm test` does on a fresh machine (global-setup.ts): what it says when a package is
// missing, and that what it starts answers and is gone after stop.
describe('throwaway test services', () => {
	test('a missing Postgres server fails naming the one install command', async () => {
		const error = await startThrowawayPostgres({ postgresRoot: '/nonexistent/postgresql' }).catch((e) => e);
		expect(error).toBeInstanceOf(MissingServiceError);
		expect(error.code).toBe('missing_binary');
		expect(error.message).toContain(installServices);
	});

	test('a missing redis-server fails naming the one install command', async () => {
		const error = await startThrowawayRedis({ command: 'redis-server-not-installed' }).catch((e) => e);
		expect(error).toBeInstanceOf(MissingServiceError);
		expect(error.message).toContain('apt-get install -y postgresql redis-server');
	});

	test('a throwaway Postgres has database test on 127.0.0.1 and is gone after stop', async () => {
		const own = await startThrowawayPostgres();
		const url = new URL(own.url);
		expect(url.hostname).toBe('127.0.0.1');
		expect(url.pathname).toBe('/test');
		const client = new pg.Client({ connectionString: own.url });
		await client.connect();
		const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
		await client.end();
		expect(rows[0]?.db).toBe('test');
		await own.stop();
		expect(() => process.kill(own.pid, 0)).toThrow();
	});
});
