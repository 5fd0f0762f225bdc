import { assembleServer } from '../assemble.ts';
import { silentLogger } from '../logger.ts';
import {
	openMigratedTestDb,
	serveTestApp,
	type TestDbKind,
	type TestServer,
	testAuthSecret
} from '../testing/app.ts';
import type { SyncApi, SyncPushSettings } from './index.ts';
import type { SyncOperation } from './operation.ts';
import type { PolicyTable } from './policy.ts';

/** A real server (127.0.0.1, port 0) with persistence, write guard, projection and the sync API. */
export interface SyncTestServer extends TestServer {
	api: SyncApi;
	/** JSON request with a bearer token; resolves to status and parsed body. */
	// biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly and assert them
	call<T = any>(
		token: string,
		method: string,
		path: string,
		body?: unknown,
		headers?: Record<string, string>
	): Promise<{ status: number; body: T; headers: Headers }>;
}

/**
 * The production server wiring (`assembleServer`: persistence, write guard, projection, sync API,
 * sync sessions, revocation) on 127.0.0.1, port 0, over a fresh migrated database.
 */
export async function startSyncServer(
	kind: TestDbKind,
	options: { policy?: PolicyTable; settings?: SyncPushSettings } = {}
): Promise<SyncTestServer> {
	const { db, drop } = await openMigratedTestDb(kind);
	const assembled = await assembleServer({
		db,
		logger: silentLogger(),
		authSecret: testAuthSecret,
		...(options.policy ? { syncPolicy: options.policy } : {}),
		...(options.settings ? { syncSettings: options.settings } : {})
	});
	const server = await serveTestApp(assembled.app, db, async () => {
		try {
			await assembled.close();
		} finally {
			await drop();
		}
	});
	return {
		...server,
		api: assembled.sync,
		async call(token, method, path, body, headers = {}) {
			const res = await fetch(`${server.http}${path}`, {
				method,
				headers: {
					authorization: `Bearer ${token}`,
					...(body === undefined ? {} : { 'content-type': 'application/json' }),
					...headers
				},
				...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) })
			});
			const text = await res.text();
			let parsed: unknown = text;
			try {
				parsed = JSON.parse(text);
			} catch {
				// not JSON: the raw text
			}
			// biome-ignore lint/suspicious/noExplicitAny: see `call`
			return { status: res.status, body: parsed as any, headers: res.headers };
		}
	};
}

let counter = 0;

/** A SyncOperation with defaults (fresh id, now). */
export function op(fields: Partial<SyncOperation> & Pick<SyncOperation, 'type' | 'entity'>): SyncOperation {
	counter++;
	return {
		id: `op-${Date.now()}-${counter}-${Math.random().toString(36).slice(2)}`,
		timestamp: Date.now(),
		...fields
	};
}

export const uuid = () => crypto.randomUUID();
