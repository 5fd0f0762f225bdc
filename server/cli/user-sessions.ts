/**
 * `npm run user:disable -- --email x@y.z`, `npm run user:enable -- --email x@y.z`,
 * `npm run user:revoke -- --email x@y.z` (docs/server-rules.md SES-2, SES-3).
 * The same database settings as the server (DATABASE_URL, DATA_DIR); migrates first. With
 * REDIS_URL (and REDIS_PREFIX) set as for the servers, the change is published on the revocation
 * bus so every instance closes the user's open connections at once (SES-5); without it, instances
 * see it on REST within the session cache's TTL and sockets keep their connection until they
 * reconnect (run the API instead: `POST /api/users/:id/…`).
 * Exit codes: 0 done, 1 unexpected failure, 2 bad usage, 3 no such user.
 */
import { parseArgs } from 'node:util';
import { revokeSessions, setUserDisabled } from '../auth/sessions.ts';
import { findUserByEmail } from '../auth/users.ts';
import { createRedisExtension, redisDefaults } from '../collab/redis.ts';
import { createRedisRevocationBus, type RevocationMessage } from '../collab/revocation-bus.ts';
import { readConfig } from '../config.ts';
import { migrate } from '../db/migrate.ts';
import { openDb } from '../db/open.ts';

export const exitCodes = { ok: 0, failure: 1, usage: 2, unknownUser: 3 } as const;

const actions = ['disable', 'enable', 'revoke'] as const;
type Action = (typeof actions)[number];

async function publish(message: RevocationMessage, url: string, prefix: string | undefined): Promise<void> {
	const redis = createRedisExtension({ url, prefix: prefix ?? redisDefaults.prefix });
	try {
		const bus = await createRedisRevocationBus({ client: redis.pub, prefix: prefix ?? redisDefaults.prefix });
		await bus.publish(message);
		await bus.close();
	} finally {
		redis.pub.disconnect(false);
		redis.sub.disconnect(false);
	}
}

async function run(): Promise<number> {
	const action = process.argv[2] as Action;
	const usage = `usage: npm run user:${actions.includes(action) ? action : '<disable|enable|revoke>'} -- --email <email>`;
	if (!actions.includes(action)) {
		console.error(usage);
		return exitCodes.usage;
	}
	let email: string | undefined;
	try {
		({
			values: { email }
		} = parseArgs({ args: process.argv.slice(3), options: { email: { type: 'string' } }, strict: true }));
	} catch (error) {
		console.error(`${(error as Error).message}\n${usage}`);
		return exitCodes.usage;
	}
	if (!email) {
		console.error(`missing --email\n${usage}`);
		return exitCodes.usage;
	}
	const config = readConfig();
	const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
	try {
		await migrate(db);
		const user = await findUserByEmail(db, email);
		if (!user) {
			console.error(`user:${action}: no user with email ${email}`);
			return exitCodes.unknownUser;
		}
		const atMs = Date.now();
		let message: RevocationMessage;
		if (action === 'revoke') {
			await revokeSessions(db, user.id, atMs);
			message = { kind: 'sessions-revoked', userId: user.id, validAfterMs: atMs };
		} else {
			await setUserDisabled(db, user.id, action === 'disable', atMs);
			message = { kind: 'user-changed', userId: user.id };
		}
		if (config.redisUrl) await publish(message, config.redisUrl, config.redisPrefix);
		console.log(
			JSON.stringify({ id: user.id, email: user.email, action, published: Boolean(config.redisUrl) })
		);
		return exitCodes.ok;
	} finally {
		await db.close();
	}
}

run().then(
	(code) => process.exit(code),
	(error: unknown) => {
		console.error('user admin failed:', error);
		process.exit(exitCodes.failure);
	}
);
