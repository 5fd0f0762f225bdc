// The owner's team administration (docs/server-rules.md TEAM-1…3): online-only, never cached.
import type { NewUserRequest, TeamMember } from '../../../server/http/user-schemas.ts';
import type {
	Board,
	CustomerSummary,
	DeviceSync,
	HealthPoint,
	LoginResponse,
	SyncHealth,
	User
} from './types.ts';

/**
 * Every HTTP call the app makes, in one place. Reads that the app must show offline (board,
 * users, customers) keep their last good answer per user in localStorage and fall back to it when
 * the network fails, flagged `stale` so the page can say it is a saved copy.
 */
export const apiDefaults = {
	/** A crew's phone on one bar of signal: fail fast and show the saved copy instead. */
	timeoutMs: 8_000,
	cachePrefix: 'khs:api:'
} as const;

export class ApiError extends Error {
	override readonly name = 'ApiError';
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		/** The input the server named as wrong (`error.field`), if any. */
		readonly field?: string
	) {
		super(message);
	}
	/** No answer at all (offline, DNS, timeout) — as opposed to the server saying no. */
	get isNetwork(): boolean {
		return this.status === 0;
	}
}

export interface Cached<T> {
	data: T;
	/** When the data was fetched from the server. */
	fetchedAt: number;
	/** True when the network failed and this is the saved copy. */
	stale: boolean;
}

export interface ApiClientOptions {
	token: () => string | null;
	/** Scopes the offline cache so one user never sees another's saved board. */
	userId: () => string | null;
	onUnauthorized?: () => void;
	/** Told after every call whether the server answered at all (any status) or not. */
	onReachability?: (reachable: boolean) => void;
	fetch?: typeof fetch;
	storage?: Storage | null;
}

export function createApiClient(options: ApiClientOptions) {
	const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
	const storage = options.storage === undefined ? globalStorage() : options.storage;

	async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
		const headers = new Headers(init.headers);
		const token = options.token();
		if (token) headers.set('authorization', `Bearer ${token}`);
		if (init.body) headers.set('content-type', 'application/json');
		let res: Response;
		try {
			res = await doFetch(path, { ...init, headers, signal: AbortSignal.timeout(apiDefaults.timeoutMs) });
		} catch {
			options.onReachability?.(false);
			throw new ApiError(0, 'network', 'No connection to the server');
		}
		options.onReachability?.(true);
		if (!res.ok) {
			let code = 'http_error';
			let message = `The server answered ${res.status}`;
			let field: string | undefined;
			try {
				const body = (await res.json()) as { error?: { code?: string; message?: string; field?: string } };
				code = body.error?.code ?? code;
				message = body.error?.message ?? message;
				field = body.error?.field;
			} catch {
				// Not JSON (a proxy's error page): keep the generic message.
			}
			if (res.status === 401 && token) options.onUnauthorized?.();
			throw new ApiError(res.status, code, message, field);
		}
		return (await res.json()) as T;
	}

	function cacheKey(path: string): string | null {
		const user = options.userId();
		return user ? `${apiDefaults.cachePrefix}${user}:${path}` : null;
	}

	/** GET with the offline fallback described above. Only network failures use the cache. */
	async function cachedGet<T>(path: string): Promise<Cached<T>> {
		const key = cacheKey(path);
		try {
			const data = await request<T>(path);
			const fresh = { data, fetchedAt: Date.now(), stale: false };
			if (key && storage) {
				try {
					storage.setItem(key, JSON.stringify({ data, fetchedAt: fresh.fetchedAt }));
				} catch {
					// Storage full: the live answer still shows; only the offline copy is older.
				}
			}
			return fresh;
		} catch (error) {
			const saved = key && storage ? storage.getItem(key) : null;
			if (error instanceof ApiError && error.isNetwork && saved) {
				const parsed = JSON.parse(saved) as { data: T; fetchedAt: number };
				return { ...parsed, stale: true };
			}
			throw error;
		}
	}

	/** The saved copy without asking the network: paints the page before the fetch returns. */
	function peek<T>(path: string): Cached<T> | null {
		const key = cacheKey(path);
		const saved = key && storage ? storage.getItem(key) : null;
		if (!saved) return null;
		try {
			return { ...(JSON.parse(saved) as { data: T; fetchedAt: number }), stale: true };
		} catch {
			return null;
		}
	}

	return {
		request,
		peek,
		login: (email: string, password: string) =>
			request<LoginResponse>('/api/auth/login', {
				method: 'POST',
				body: JSON.stringify({ email, password })
			}),
		board: () => cachedGet<Board>('/api/board'),
		users: () => cachedGet<User[]>('/api/users'),
		customers: () => cachedGet<CustomerSummary[]>('/api/customers'),
		health: () => request<SyncHealth>('/api/sync/health'),
		healthSeries: () => request<HealthPoint[]>('/api/sync/health/series'),
		devices: () => request<DeviceSync[]>('/api/sync/devices'),
		/** Every member with email and disabled flag (owner; not cached: the list is online-only). */
		team: () => request<TeamMember[]>('/api/team'),
		/** Adds a member with a first password (owner); 409 `email_taken`, 400 names the field. */
		addMember: (member: NewUserRequest) =>
			request<{ user: User }>('/api/users', { method: 'POST', body: JSON.stringify(member) }),
		/** Turns a member's access off (ends their sessions everywhere, SES-3) or back on (owner). */
		setDisabled: (userId: string, disabled: boolean) =>
			request<{ ok: true }>(`/api/users/${encodeURIComponent(userId)}/${disabled ? 'disable' : 'enable'}`, {
				method: 'POST'
			}),
		/** Removes this user's saved answers (logout). */
		forget(userId: string) {
			if (!storage) return;
			const prefix = `${apiDefaults.cachePrefix}${userId}:`;
			for (let i = storage.length - 1; i >= 0; i--) {
				const key = storage.key(i);
				if (key?.startsWith(prefix)) storage.removeItem(key);
			}
		}
	};
}

export type ApiClient = ReturnType<typeof createApiClient>;

function globalStorage(): Storage | null {
	return typeof localStorage === 'undefined' ? null : localStorage;
}

export const boardPaths = { board: '/api/board', users: '/api/users', customers: '/api/customers' } as const;
