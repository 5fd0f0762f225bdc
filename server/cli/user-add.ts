/**
 * `npm run user:add -- --email x@y.z --name "Y Z" --role OWNER|WORKER`
 * Creates a user for a real deployment. The password comes from `KHS_PASSWORD` or stdin (one line),
 * never from argv, where it would land in shell history and `ps` output.
 * Uses the same database settings as the server (DATABASE_URL, DATA_DIR) and migrates first.
 * Exit codes: 0 created, 1 unexpected failure, 2 bad usage or invalid input, 3 email already taken.
 */
import { parseArgs } from 'node:util';
import { createUser, UserError } from '../auth/users.ts';
import { readConfig } from '../config.ts';
import { migrate } from '../db/migrate.ts';
import { openDb } from '../db/open.ts';

const usage =
	'usage: npm run user:add -- --email <email> --name <name> --role OWNER|WORKER  (password: KHS_PASSWORD or stdin)';

export const exitCodes = { ok: 0, failure: 1, usage: 2, taken: 3 } as const;

async function readStdinPassword(): Promise<string> {
	if (process.stdin.isTTY) process.stderr.write('password: ');
	const chunks: Buffer[] = [];
	for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
	// First line only, without its line ending: `echo pw | …` and here-strings both work.
	return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

async function run(): Promise<number> {
	let values: { email?: string; name?: string; role?: string; help?: boolean };
	try {
		({ values } = parseArgs({
			options: {
				email: { type: 'string' },
				name: { type: 'string' },
				role: { type: 'string' },
				help: { type: 'boolean', short: 'h' }
			},
			strict: true
		}));
	} catch (error) {
		console.error(`${(error as Error).message}\n${usage}`);
		return exitCodes.usage;
	}
	if (values.help) {
		console.log(usage);
		return exitCodes.ok;
	}
	const missing = (['email', 'name', 'role'] as const).filter((k) => !values[k]);
	if (missing.length > 0) {
		console.error(`missing --${missing.join(', --')}\n${usage}`);
		return exitCodes.usage;
	}
	const password = process.env.KHS_PASSWORD ?? (await readStdinPassword());

	const config = readConfig();
	const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
	try {
		await migrate(db);
		const user = await createUser(db, {
			email: values.email as string,
			name: values.name as string,
			role: (values.role as string).toUpperCase(),
			password
		});
		console.log(JSON.stringify({ id: user.id, email: user.email, name: user.name, role: user.role }));
		return exitCodes.ok;
	} catch (error) {
		if (error instanceof UserError) {
			console.error(`user:add: ${error.message} (--${error.field})`);
			return error.code === 'email_taken' ? exitCodes.taken : exitCodes.usage;
		}
		throw error;
	} finally {
		await db.close();
	}
}

run().then(
	(code) => process.exit(code),
	(error: unknown) => {
		console.error('user:add failed:', error);
		process.exit(exitCodes.failure);
	}
);
