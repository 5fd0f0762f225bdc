import { api } from '$lib/api/index.ts';
import type { User } from '$lib/api/types.ts';

/** Names for user ids (crew lists, presence, notices). Loaded once per sign-in, cached offline. */
class People {
	users = $state.raw<User[]>([]);
	private loading: Promise<void> | null = null;

	readonly byId = $derived(new Map(this.users.map((u) => [u.id, u])));

	nameOf(id: string): string | undefined {
		return this.byId.get(id)?.name;
	}

	load(force = false): Promise<void> {
		if (this.loading && !force) return this.loading;
		const cached = api.peek<User[]>('/api/users');
		if (cached && this.users.length === 0) this.users = cached.data;
		this.loading = api
			.users()
			.then((r) => {
				this.users = r.data;
			})
			.catch(() => {
				// Names fall back to "a crew member"; the pages still work.
				this.loading = null;
			});
		return this.loading;
	}

	reset(): void {
		this.users = [];
		this.loading = null;
	}
}

export const people = new People();
