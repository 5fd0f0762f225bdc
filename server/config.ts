import { type CollabLimits, collabLimitEnv } from './collab/limits.ts';
import { serverDefaults } from './defaults.ts';
import { syncDefaults } from './sync/defaults.ts';

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
	/** Redis for scale-out (`@hocuspocus/extension-redis`); unset → a single instance. */
	redisUrl: string | undefined;
	/** Namespace of Redis keys and channels (`REDIS_PREFIX`, default `khs`). */
	redisPrefix: string | undefined;
	/** Websocket flood and size limits set in the environment (`collabLimitEnv` names the variables). */
	collabLimits: Partial<CollabLimits>;
	/** `CHANGE_LOG_RETENTION_DAYS` / `PUSH_IDEMPOTENCY_RETENTION_DAYS` (docs/server-rules.md FEED-1, FEED-5). */
	retention: { changeLogRetentionDays: number; pushIdempotencyRetentionDays: number };
	/** `METRICS_TOKEN`: bearer token `/metrics` requires; unset → `/metrics` is not served (404). */
	metricsToken: string | undefined;
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
		seedDemo: !['0', 'false', 'no', 'off'].includes((env.SEED_DEMO ?? '').toLowerCase()),
		redisUrl: readRedisUrl(env.REDIS_URL),
		redisPrefix: env.REDIS_PREFIX || undefined,
		collabLimits: readCollabLimits(env),
		retention: {
			changeLogRetentionDays:
				readPositiveNumber(env, 'CHANGE_LOG_RETENTION_DAYS') ?? syncDefaults.changeLogRetentionDays,
			pushIdempotencyRetentionDays:
				readPositiveNumber(env, 'PUSH_IDEMPOTENCY_RETENTION_DAYS') ??
				syncDefaults.pushIdempotencyRetentionDays
		},
		metricsToken: readMetricsToken(env.METRICS_TOKEN)
	};
}

/** Only the limits that are set, so the defaults in `collab/limits.ts` fill the rest. */
function readCollabLimits(env: NodeJS.ProcessEnv): ServerConfig['collabLimits'] {
	const limits: ServerConfig['collabLimits'] = {};
	for (const [key, variable] of Object.entries(collabLimitEnv) as Array<[keyof CollabLimits, string]>) {
		const value = readPositiveInt(env, variable);
		if (value) limits[key] = value;
	}
	return limits;
}

function readPositiveInt(env: NodeJS.ProcessEnv, variable: string): number | undefined {
	const raw = env[variable];
	if (!raw) return undefined;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < 1)
		throw new ConfigError(variable, `"${raw}" is not a positive whole number`);
	return value;
}

function readPositiveNumber(env: NodeJS.ProcessEnv, variable: string): number | undefined {
	const raw = env[variable];
	if (!raw) return undefined;
	const value = Number(raw);
	if (!Number.isFinite(value) || value <= 0)
		throw new ConfigError(variable, `"${raw}" is not a positive number`);
	return value;
}

function readMetricsToken(raw: string | undefined): string | undefined {
	if (!raw) return undefined;
	if (raw.length < 16) throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');
	return raw;
}

function readRedisUrl(raw: string | undefined): string | undefined {
	if (!raw) return undefined;
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new ConfigError('REDIS_URL', `"${raw}" is not a URL`);
	}
	if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
		throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://');
	}
	return raw;
}
