import { countUsers, createUser, UserError } from '../auth/users.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';

/** The demo company's logins (also in the README). */
export const demoUsers = [
	{ email: 'owner@khs.demo', name: 'Olivia Owner', role: 'OWNER' },
	{ email: 'ana@khs.demo', name: 'Ana Alves', role: 'WORKER' },
	{ email: 'ben@khs.demo', name: 'Ben Brooks', role: 'WORKER' }
] as const;

export const demoPassword = 'demo1234';

/**
 * Seeds the demo company into an empty database: for now the users only. Customers, jobs (with
 * crews assigned) and material lists come once the CRDT document layer can create them.
 * Returns whether it seeded anything.
 */
export async function seedDemoIfEmpty(db: Db, logger?: Logger): Promise<boolean> {
	if ((await countUsers(db)) > 0) return false;
	let created = 0;
	for (const user of demoUsers) {
		try {
			await createUser(db, { ...user, password: demoPassword });
			created++;
		} catch (error) {
			// Another instance starting at the same moment seeded it first: fine.
			if (error instanceof UserError && error.code === 'email_taken') continue;
			throw error;
		}
	}
	if (created > 0) {
		logger?.warn(
			{ users: demoUsers.map((u) => u.email) },
			`seeded demo users with password "${demoPassword}"; set SEED_DEMO=0 for a real deployment`
		);
	}
	return created > 0;
}
