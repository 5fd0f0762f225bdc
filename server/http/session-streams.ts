import type { ServerResponse } from 'node:http';
import type { AuthUser } from '../auth/roles.ts';

/**
 * Long-lived HTTP responses (the board's and the sync API's Server-Sent Events) by the user they
 * were opened for, so that a session that ends ends them too (docs/server-rules.md SES-5), as it
 * closes that session's websockets. A stream checks its token once, when it opens; without this a
 * logged-out or disabled user's EventSource kept receiving.
 */
export class SessionStreams {
	readonly #open = new Map<ServerResponse, AuthUser>();

	/** Registers `res`, opened for `user`, until it closes; returns the unregister. */
	add(res: ServerResponse, user: AuthUser): () => void {
		this.#open.set(res, user);
		const remove = () => this.#open.delete(res);
		res.once('close', remove);
		return remove;
	}

	/** Ends every open stream whose user `ended` says lost its session; returns how many. */
	endWhere(ended: (user: AuthUser) => boolean): number {
		let count = 0;
		for (const [res, user] of this.#open) {
			if (!ended(user)) continue;
			this.#open.delete(res);
			res.end();
			count++;
		}
		return count;
	}

	/** Open streams right now. */
	get size(): number {
		return this.#open.size;
	}
}
