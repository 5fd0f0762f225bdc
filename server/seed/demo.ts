import type { Hocuspocus } from '@hocuspocus/server';
import { countUsers, createUser, findUserByEmail, UserError } from '../auth/users.ts';
import type { Db } from '../db/port.ts';
import type { Logger } from '../logger.ts';
import { type DemoCrew, demoDocuments } from './demo-content.ts';

/** The demo company's logins (also in the README). */
export const demoUsers = [
	{ email: 'owner@khs.demo', name: 'Olivia Owner', role: 'OWNER' },
	{ email: 'ana@khs.demo', name: 'Ana Alves', role: 'WORKER' },
	{ email: 'ben@khs.demo', name: 'Ben Brooks', role: 'WORKER' }
] as const;

export const demoPassword = 'demo1234';

/**
 * Seeds the demo users into an empty database (README "Quick start": "on an empty database the
 * first start seeds a demo company"). Returns the crew to seed documents for, or null when there were users
 * already. Safe when two instances start at once: the loser's inserts hit `email_taken`.
 */
export async function seedDemoIfEmpty(db: Db, logger?: Logger): Promise<DemoCrew | null> {
	if ((await countUsers(db)) > 0) return null;
	const crew = await ensureDemoUsers(db);
	logger?.warn(
		{ users: demoUsers.map((u) => u.email) },
		`seeded demo users with password "${demoPassword}"; set SEED_DEMO=0 for a real deployment`
	);
	return crew;
}

/** Creates whichever demo users are missing and returns their ids. */
export async function ensureDemoUsers(db: Db): Promise<DemoCrew> {
	const ids: string[] = [];
	for (const user of demoUsers) {
		const existing = await findUserByEmail(db, user.email);
		if (existing) {
			ids.push(existing.id);
			continue;
		}
		try {
			ids.push((await createUser(db, { ...user, password: demoPassword })).id);
		} catch (error) {
			if (!(error instanceof UserError && error.code === 'email_taken')) throw error;
			const winner = await findUserByEmail(db, user.email);
			if (!winner) throw error;
			ids.push(winner.id);
		}
	}
	const [ownerId = '', ana = '', ben = ''] = ids;
	return { ownerId, workerIds: [ana, ben] };
}

/**
 * Writes the demo customers, jobs and material lists through Hocuspocus direct connections, so
 * persistence logs them, the projection sees them and connected clients get them live.
 */
export async function seedDemoDocuments(
	hocuspocus: Hocuspocus,
	crew: DemoCrew,
	logger?: Logger
): Promise<void> {
	const documents = demoDocuments(crew);
	for (const { name, write } of documents) {
		const connection = await hocuspocus.openDirectConnection(name, {
			user: { id: crew.ownerId, role: 'OWNER' }
		});
		try {
			await connection.transact(write);
		} finally {
			await connection.disconnect();
		}
	}
	logger?.info({ documents: documents.length }, 'seeded demo documents');
}
