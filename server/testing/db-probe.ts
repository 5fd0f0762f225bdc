import type { Db } from '../db/port.ts';

/**
 * Wraps a `Db` so tests can wait on what the server wrote instead of polling: `onWrite` runs after
 * every committed transaction and after every statement outside one (with its SQL). Other members
 * pass through, bound to the real adapter (its private fields are not readable through a proxy).
 */
export function probeWrites(db: Db, onWrite: (sql: string | null) => void): Db {
	return new Proxy(db, {
		get(target, prop, receiver) {
			if (prop === 'transaction') {
				return async (work: Parameters<Db['transaction']>[0]) => {
					const result = await target.transaction(work);
					onWrite(null);
					return result;
				};
			}
			if (prop === 'query') {
				return async (sql: string, params?: readonly unknown[]) => {
					const result = await target.query(sql, params);
					onWrite(sql);
					return result;
				};
			}
			const value = Reflect.get(target, prop, receiver);
			return typeof value === 'function' ? value.bind(target) : value;
		}
	}) as Db;
}
