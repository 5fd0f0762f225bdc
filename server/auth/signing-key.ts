import { randomBytes } from 'node:crypto';
import type { Db } from '../db/port.ts';
import { authDefaults } from './defaults.ts';

/**
 * The token signing key: `AUTH_SECRET` when set (every instance of a deployment must share it),
 * else a random key generated once and kept in `server_secrets`, so tokens survive restarts and
 * instances on the same database agree without any configuration.
 */
export async function loadSigningKey(db: Db, authSecret: string | undefined): Promise<Uint8Array> {
	if (authSecret !== undefined && authSecret !== '') {
		if (authSecret.length < authDefaults.minAuthSecretLength) {
			throw new Error(`AUTH_SECRET must be at least ${authDefaults.minAuthSecretLength} characters`);
		}
		return Buffer.from(authSecret, 'utf8');
	}
	const name = authDefaults.signingKeySecretName;
	const fresh = randomBytes(authDefaults.signingKeyBytes).toString('base64url');
	// Insert-if-absent then read back: when two instances start together, both read the winner's key.
	await db.query('INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
		name,
		fresh
	]);
	const { rows } = await db.query<{ value: string }>('SELECT value FROM server_secrets WHERE name = $1', [
		name
	]);
	const value = rows[0]?.value;
	if (!value) throw new Error('token signing key could not be stored');
	return Buffer.from(value, 'base64url');
}
