import { describe, expect, it } from 'vitest';
import { type PendingChange, type PendingStore, PendingTracker } from './pending.ts';

function memoryStore(): PendingStore & { data: Map<string, PendingChange[]> } {
	const data = new Map<string, PendingChange[]>();
	return {
		data,
		load: (n) => [...(data.get(n) ?? [])],
		save: (n, c) => (c.length ? data.set(n, [...c]) : data.delete(n)),
		names: () => [...data.keys()]
	};
}

describe('pending changes', () => {
	it('counts a typing burst as one change and a later edit as another', () => {
		const t = new PendingTracker('d', memoryStore(), 1000);
		t.record(7, 1, 0);
		t.record(7, 2, 500);
		t.record(7, 3, 5000);
		expect(t.count).toBe(2);
	});

	it('clears only the changes the durable state vector covers', () => {
		const t = new PendingTracker('d', memoryStore(), 0);
		t.record(7, 3, 0);
		t.record(7, 5, 10);
		t.acknowledge(new Map([[7, 4]]));
		expect(t.count).toBe(1);
		t.acknowledge(new Map([[7, 5]]));
		expect(t.count).toBe(0);
	});

	it("survives a reload, and a previous session's changes clear under their own client id", () => {
		const store = memoryStore();
		const before = new PendingTracker('d', store, 0);
		before.record(111, 4, 0);
		const after = new PendingTracker('d', store, 0);
		after.record(222, 1, 1);
		expect(after.count).toBe(2);
		after.acknowledge(
			new Map([
				[111, 4],
				[222, 1]
			])
		);
		expect(after.count).toBe(0);
		expect(store.data.has('d')).toBe(false);
	});

	it('tells received apart from durable', () => {
		const counts: number[] = [];
		const t = new PendingTracker('d', memoryStore(), 0, (n) => counts.push(n));
		t.record(1, 1, 0);
		expect(t.unsent).toBe(1);
		t.markReceived();
		expect(t.unsent).toBe(0);
		expect(t.count).toBe(1);
		expect(counts).toEqual([1, 1]);
	});
});
