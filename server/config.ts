import { serverDefaults } from './defaults.ts';

/** Everything the server reads from the environment, validated once at start-up. */
export interface ServerConfig {
	port: number;
	host: string;
	/** Postgres URL; unset → embedded PGlite under `dataDir`. */
	databaseUrl: string | undefined;
	dataDir: string;
	logLevel: string;
	/** Overrides the generated token signing key (must be ≥ 32 characters). */
	authSecret: string | undefined;
	/** Seed demo users into an empty database (`SEED_DEMO=0` turns it off for real deployments). */
	seedDemo: boolean;
}

/** A bad environment variable; `variable` names it. */
export class ConfigError extends Error {
	override readonly name = 'ConfigError';
	constructor(
		readonly variable: string,
		message: string
	) {
		super(`${variable}: ${message}`);
	}
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function readConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
	const rawPort = env.PORT ?? String(serverDefaults.port);
	const port = Number(rawPort);
	if (!Number.isInteger(port) || port < 0 || port > 65535) {
		throw new ConfigError('PORT', `"${rawPort}" is not a port number (0–65535)`);
	}
	const logLevel = env.LOG_LEVEL ?? 'info';
	if (!logLevels.includes(logLevel)) {
		throw new ConfigError('LOG_LEVEL', `"${logLevel}" is not one of ${logLevels.join(', ')}`);
	}
	return {
		port,
		host: env.HOST || serverDefaults.productionHost,
		databaseUrl: env.DATABASE_URL || undefined,
		dataDir: env.DATA_DIR || serverDefaults.dataDir,
		logLevel,
		authSecret: env.AUTH_SECRET || undefined,
		seedDemo: !['0', 'false', 'no', 'off'].includes((env.SEED_DEMO ?? '').toLowerCase())
	};
}
