import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createUser } from '../../../server/auth/users.ts';
import { migrate } from '../../../server/db/migrate.ts';
import { openPgDb } from '../../../server/db/pg.ts';
import type { Db } from '../../../server/db/port.ts';
import { testDatabaseUrl } from '../../../server/db/testing.ts';
import { testUserOptions } from '../../../server/testing/app.ts';
import { testUserPassword } from '../../integration/support/server-process.ts';

/** A fresh migrated schema with one owner, on the shared test Postgres or a scenario's own cluster. */
export interface FaultDatabase {
	/** The suite's own pool, for reading what is stored. */
	db: Db;
	schema: string;
	/** The `DATABASE_URL` for a server, optionally through another host:port (a proxy). */
	urlFor(via?: { host: string; port: number }): string;
	ownerEmail: string;
	ownerId: string;
	drop(): Promise<void>;
}

export async function openFaultDatabase(baseUrl = testDatabaseUrl): Promise<FaultDatabase> {
	const schema = `faults_${randomBytes(6).toString('hex')}`;
	const db = await openPgDb({ connectionString: baseUrl, schema, max: 3 });
	await migrate(db);
	const ownerEmail = `owner-${schema}@faults.test`;
	const owner = await createUser(
		db,
		{ email: ownerEmail, role: 'OWNER', name: 'Owner', password: testUserPassword },
		testUserOptions
	);
	return {
		db,
		schema,
		ownerEmail,
		ownerId: owner.id,
		urlFor(via) {
			const url = new URL(baseUrl);
			if (via) {
				url.hostname = via.host;
				url.port = String(via.port);
			}
			url.searchParams.set('options', `-c search_path=${schema}`);
			return url.toString();
		},
		async drop() {
			await db.close();
			const client = new pg.Client({ connectionString: baseUrl });
			try {
				await client.connect();
				await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
			} catch {
				// the scenario's own cluster may already be gone
			} finally {
				await client.end().catch(() => {});
			}
		}
	};
}
