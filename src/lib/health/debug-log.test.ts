import { describe, expect, it } from 'vitest';
import { buildDebugLog } from './debug-log.ts';

function storageOf(items: Record<string, string>): Storage {
	const keys = Object.keys(items);
	return {
		length: keys.length,
		key: (i: number) => keys[i] ?? null,
		getItem: (k: string) => items[k] ?? null
	} as unknown as Storage;
}

describe('debug log export', () => {
	it('has the spec shape and never exports the token', () => {
		const log = buildDebugLog({
			deviceInfo: { deviceId: 'd1' },
			syncHistory: [{ at: 1, event: 'synced' }],
			pending: [{ document: 'materials:x', changes: [{ c: 1, k: 2, at: 3 }] }],
			conflicts: [],
			storage: storageOf({
				'khs:session': JSON.stringify({
					token: 'secret-token',
					user: { id: 'u', name: 'Ana', role: 'WORKER' }
				}),
				'khs:deviceId': 'd1'
			}),
			errorLog: []
		});
		expect(Object.keys(log)).toEqual([
			'deviceInfo',
			'syncHistory',
			'pendingOperations',
			'conflicts',
			'localStorage',
			'errorLog'
		]);
		expect(JSON.stringify(log)).not.toContain('secret-token');
		expect(JSON.parse(log.localStorage['khs:session'] ?? '{}').user.name).toBe('Ana');
		expect(log.pendingOperations).toEqual([{ document: 'materials:x', c: 1, k: 2, at: 3 }]);
	});
});
