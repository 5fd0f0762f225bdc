import { describe, expect, it } from 'vitest';
import { OperationsInProcess } from './idempotency.ts';

describe('operations in process (push idempotency against concurrent resends)', () => {
	it('a claimed id is in process until released', () => {
		const inProcess = new OperationsInProcess();
		const release = inProcess.claim(['op-1', 'op-2']);
		expect(inProcess.has('op-1')).toBe(true);
		expect(inProcess.has('op-3')).toBe(false);
		release();
		expect(inProcess.has('op-1')).toBe(false);
		expect(inProcess.has('op-2')).toBe(false);
	});

	it('is per sync API instance: two apps in one process do not share their pushes', () => {
		const one = new OperationsInProcess();
		const other = new OperationsInProcess();
		one.claim(['op-1']);
		expect(other.has('op-1')).toBe(false);
	});
});
