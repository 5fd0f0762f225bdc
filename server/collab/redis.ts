import { randomUUID } from 'node:crypto';
import { Redis } from '@hocuspocus/extension-redis';

/**
 * Scale-out (docs/architecture.md "Scale-out"): with `REDIS_URL` set, every instance adds
 * `@hocuspocus/extension-redis`, which relays document updates, awareness and broadcast stateless
 * messages between the instances that have a document open. Storage needs no lock: every instance
 * only APPENDS to the shared update log (server/docs/store.ts) and compaction is serialized by a row
 * lock in Postgres, so the extension's 1 s Redlock (docs/pitfalls.md "Hocuspocus") guards nothing of ours.
 *
 * Durability with Redis: run persistence with `logRemoteUpdates: true` (main.ts does). An update a
 * peer relays is then logged here too, before this instance counts it durable. With it off, an
 * instance counted relayed updates as durable on the peer's word; when the peer died between relaying
 * and committing, a client that reconnected here was acked for an edit no database row held
 * (tests/integration/redis.test.ts reproduces it). The cost is one extra log row per update per
 * further instance holding the document; compaction folds the duplicates (Yjs applies idempotently).
 */
export interface RedisScaleOutOptions {
	/** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
	url: string;
	/** Key and channel namespace, so several deployments (or test runs) can share one Redis. */
	prefix?: string;
	/** Unique per instance; default a random UUID (the extension filters its own messages by it). */
	identifier?: string;
}

/** Defaults of the Redis scale-out. */
export const redisDefaults = {
	prefix: 'khs',
	/** Give up a connection attempt after this long, so a dead Redis is seen rather than hanging. */
	connectTimeoutMs: 5_000
} as const;

/**
 * The Redis extension configured from a URL. Parsed here rather than handing ioredis the URL, so the
 * server needs no direct ioredis dependency (the extension brings its own).
 */
export function createRedisExtension(options: RedisScaleOutOptions): Redis {
	const url = new URL(options.url);
	if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
		throw new Error(`REDIS_URL must start with redis:// or rediss://, got ${url.protocol}`);
	}
	const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
	if (!Number.isInteger(db) || db < 0)
		throw new Error(`REDIS_URL: "${url.pathname}" is not a database number`);
	const extension = new Redis({
		host: url.hostname || '127.0.0.1',
		port: url.port ? Number(url.port) : 6379,
		prefix: options.prefix ?? redisDefaults.prefix,
		identifier: options.identifier ?? `khs-${randomUUID()}`,
		options: {
			db,
			connectTimeout: redisDefaults.connectTimeoutMs,
			...(url.username ? { username: decodeURIComponent(url.username) } : {}),
			...(url.password ? { password: decodeURIComponent(url.password) } : {}),
			...(url.protocol === 'rediss:' ? { tls: {} } : {})
		}
	});
	resyncAfterReconnect(extension);
	return extension;
}

/**
 * Updates published while Redis was away never reach the other instances, and nothing in y-sync
 * asks for them again until a client reconnects (fault suite, "Redis restarted": every edit stored,
 * but devices on the other instance stayed behind). So when the subscriber connection is ready
 * again, this instance publishes a sync step 1 for every document it has loaded — exactly what the
 * extension does when a document loads — and the peers answer with what it lacks, and vice versa.
 */
function resyncAfterReconnect(extension: Redis): void {
	// `sub`, `instance` and `publishFirstSyncStep` are the extension's own (4.7), not in its types.
	const internals = extension as unknown as {
		sub: { on(event: 'ready', listener: () => void): void };
		instance?: { documents: Map<string, unknown> };
		publishFirstSyncStep(name: string, document: unknown): Promise<void>;
	};
	let connectedBefore = false;
	internals.sub.on('ready', () => {
		if (!connectedBefore) {
			connectedBefore = true;
			return;
		}
		for (const [name, document] of internals.instance?.documents ?? []) {
			void internals.publishFirstSyncStep(name, document).catch(() => {
				// Redis went away again: the next 'ready' publishes again.
			});
		}
	});
}
