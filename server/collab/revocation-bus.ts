import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.ts';

/**
 * SES-5 (docs/server-rules.md "Sessions"): what one instance tells every instance when access
 * that open connections rest on has been taken away or changed. Each instance closes (or, for a
 * role change, re-checks) the affected connections it holds; see `revoke.ts`.
 */
export type RevocationMessage =
	/** A committed crew removal: the users lose `job:`/`materials:` of the job (and maybe its customer). */
	| { kind: 'assignment-removed'; jobId: string; userIds: string[] }
	/** SES-2: every token of the user issued at or before `validAfterMs` was revoked. */
	| { kind: 'sessions-revoked'; userId: string; validAfterMs: number }
	/** SES-1: one token was logged out. */
	| { kind: 'token-revoked'; userId: string; tokenId: string }
	/** SES-3/SES-6: the user was disabled, enabled, or changed role or name; read them again. */
	| { kind: 'user-changed'; userId: string };

export type RevocationHandler = (message: RevocationMessage) => unknown;

/** In-process by default; over Redis pub/sub when the instances share one (REDIS_URL). */
export interface RevocationBus {
	/** Delivers `message` to this instance's subscribers at once and to every other instance. */
	publish(message: RevocationMessage): Promise<void>;
	/** Calls `handler` for every message, this instance's own included; returns an unsubscribe. */
	subscribe(handler: RevocationHandler): () => void;
	close(): Promise<void>;
}

/** Defaults of the revocation bus. */
export const revocationBusDefaults = {
	/** The Redis channel, under the deployment's `REDIS_PREFIX`. */
	channelSuffix: 'revocation'
} as const;

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;

/** The message in `value`, or null when it is not one (the bus never trusts what it reads). */
export function parseRevocationMessage(value: unknown): RevocationMessage | null {
	if (typeof value !== 'object' || value === null) return null;
	const m = value as Record<string, unknown>;
	switch (m.kind) {
		case 'assignment-removed':
			return isString(m.jobId) && Array.isArray(m.userIds) && m.userIds.every(isString)
				? { kind: m.kind, jobId: m.jobId, userIds: [...(m.userIds as string[])] }
				: null;
		case 'sessions-revoked':
			return isString(m.userId) && typeof m.validAfterMs === 'number' && Number.isFinite(m.validAfterMs)
				? { kind: m.kind, userId: m.userId, validAfterMs: m.validAfterMs }
				: null;
		case 'token-revoked':
			return isString(m.userId) && isString(m.tokenId)
				? { kind: m.kind, userId: m.userId, tokenId: m.tokenId }
				: null;
		case 'user-changed':
			return isString(m.userId) ? { kind: m.kind, userId: m.userId } : null;
		default:
			return null;
	}
}

function createDispatcher(logger?: Logger) {
	const handlers = new Set<RevocationHandler>();
	return {
		subscribe(handler: RevocationHandler) {
			handlers.add(handler);
			return () => void handlers.delete(handler);
		},
		async deliver(message: RevocationMessage): Promise<void> {
			await Promise.all(
				[...handlers].map(async (handler) => {
					try {
						await handler(message);
					} catch (err) {
						logger?.error({ err, kind: message.kind }, 'revocation handler failed');
					}
				})
			);
		}
	};
}

/** One process: what is published is delivered to this process's subscribers only. */
export function createLocalRevocationBus(logger?: Logger): RevocationBus {
	const dispatcher = createDispatcher(logger);
	return {
		publish: (message) => dispatcher.deliver(message),
		subscribe: dispatcher.subscribe,
		async close() {}
	};
}

/** The part of an ioredis client the bus uses. */
export interface RedisPubSubClient {
	publish(channel: string, message: string): Promise<unknown>;
	subscribe(channel: string): Promise<unknown>;
	on(event: 'message', listener: (channel: string, message: string) => void): unknown;
	quit(): Promise<unknown>;
}

/**
 * Over Redis pub/sub, on one channel `<prefix>:revocation`. `client` is any ioredis client of the
 * deployment's Redis (the scale-out extension's, see `redis.ts`): the bus duplicates it into its
 * own publisher and subscriber, so it needs no Redis settings of its own. Resolves once subscribed,
 * so no message published after start-up is missed. Own messages are delivered locally at once
 * and skipped when Redis echoes them.
 */
export async function createRedisRevocationBus(options: {
	client: { duplicate(): RedisPubSubClient };
	prefix: string;
	logger?: Logger;
}): Promise<RevocationBus> {
	const { logger } = options;
	const channel = `${options.prefix}:${revocationBusDefaults.channelSuffix}`;
	const from = randomUUID();
	const dispatcher = createDispatcher(logger);
	const pub = options.client.duplicate();
	const sub = options.client.duplicate();
	sub.on('message', (got, raw) => {
		if (got !== channel) return;
		let envelope: { from?: unknown; message?: unknown };
		try {
			envelope = JSON.parse(raw) as typeof envelope;
		} catch {
			return void logger?.warn({ channel }, 'revocation bus: not JSON; ignored');
		}
		if (envelope.from === from) return;
		const message = parseRevocationMessage(envelope.message);
		if (!message) return void logger?.warn({ channel }, 'revocation bus: unknown message; ignored');
		void dispatcher.deliver(message);
	});
	await sub.subscribe(channel);
	return {
		async publish(message) {
			const local = dispatcher.deliver(message);
			try {
				await pub.publish(channel, JSON.stringify({ from, message }));
			} catch (err) {
				// The change is committed; other instances still see it on REST within the session cache's
				// TTL (SES-4), but their open sockets stay open until they reconnect. Loud, not fatal.
				logger?.error({ err, kind: message.kind }, 'revocation bus: publish to Redis failed');
			}
			await local;
		},
		subscribe: dispatcher.subscribe,
		async close() {
			await Promise.allSettled([pub.quit(), sub.quit()]);
		}
	};
}
