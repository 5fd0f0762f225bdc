import { describe, expect, it } from 'vitest';
import { MemoryWebStorage } from '$lib/session/memory-storage.test-support.ts';
import { ApiError, createApiClient } from './client.ts';

const board = { jobs: [{ id: 'j1', title: 'Roof' }] };

function client(fetchImpl: typeof fetch, storage = new MemoryWebStorage(), userId = 'u1') {
	let unauthorized = 0;
	const api = createApiClient({
		token: () => 'tok',
		userId: () => userId,
		fetch: fetchImpl,
		storage,
		onUnauthorized: () => unauthorized++
	});
	return { api, storage, unauthorized: () => unauthorized };
}

describe('api client', () => {
	it('sends the bearer token and saves the board for offline use', async () => {
		let auth: string | null = null;
		const { api, storage } = client(async (_url, init) => {
			auth = new Headers(init?.headers).get('authorization');
			return Response.json(board);
		});
		const got = await api.board();
		expect(auth).toBe('Bearer tok');
		expect(got).toMatchObject({ data: board, stale: false });
		expect(storage.length).toBe(1);
	});

	it('falls back to the saved copy when the network fails, flagged stale', async () => {
		const storage = new MemoryWebStorage();
		await client(async () => Response.json(board), storage).api.board();
		const offline = client(async () => {
			throw new TypeError('Failed to fetch');
		}, storage);
		expect(await offline.api.board()).toMatchObject({ data: board, stale: true });
	});

	it("never shows one user's saved board to another", async () => {
		const storage = new MemoryWebStorage();
		await client(async () => Response.json(board), storage, 'owner').api.board();
		const other = client(
			async () => {
				throw new TypeError('offline');
			},
			storage,
			'worker'
		);
		await expect(other.api.board()).rejects.toMatchObject({ isNetwork: true });
	});

	it('does not hide server errors behind the cache, and reports 401', async () => {
		const storage = new MemoryWebStorage();
		await client(async () => Response.json(board), storage).api.board();
		const denied = client(
			async () => Response.json({ error: { code: 'expired', message: 'Token expired' } }, { status: 401 }),
			storage
		);
		const error = await denied.api.board().catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ApiError);
		expect(error).toMatchObject({ status: 401, code: 'expired', message: 'Token expired' });
		expect(denied.unauthorized()).toBe(1);
	});

	it('forgets only the given user on logout', async () => {
		const storage = new MemoryWebStorage();
		await client(async () => Response.json(board), storage, 'a').api.board();
		await client(async () => Response.json(board), storage, 'b').api.board();
		client(async () => Response.json(board), storage).api.forget('a');
		expect(storage.length).toBe(1);
	});
});
