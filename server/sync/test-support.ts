import { createPersistenceExtension } from '../collab/persistence.ts';
import { createWriteGuardExtension } from '../collab/write-guard.ts';
import { createDocStore } from '../docs/store.ts';
import { silentLogger } from '../logger.ts';
import { startTestServer, type TestDbKind, type TestServer } from '../testing/app.ts';
import { createSyncApi, type SyncApi } from './index.ts';
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

export async function startSyncServer(
	kind: TestDbKind,
	options: { policy?: PolicyTable } = {}
): Promise<SyncTestServer> {
	let api: SyncApi | undefined;
	const server = await startTestServer(kind, (db) => {
		const persistence = createPersistenceExtension({ store: createDocStore(db) });
		api = createSyncApi({
			db,
			durability: persistence,
			...(options.policy ? { policy: options.policy } : {})
		});
		return {
			hocuspocusExtensions: [
				createWriteGuardExtension({ logger: silentLogger() }),
				persistence,
				...api.extensions
			],
			routes: [api.mount]
		};
	});
	return {
		...server,
		api: api as SyncApi,
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
