import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	CustomerDoc,
	HybridClock,
	JobDoc,
	JobOwnerDoc,
	MaterialListDoc,
	parseDocName,
	type WriteContext
} from '../../crdt/index.ts';
import { demoDocuments } from './demo-content.ts';

const reader: WriteContext = {
	writer: { userId: 'r', deviceId: 'r', role: 'OWNER' },
	clock: new HybridClock()
};

describe('demo content', () => {
	it('makes customers, jobs with crews and material lists that read as valid entities', () => {
		const docs = demoDocuments({ ownerId: 'owner', workerIds: ['ana', 'ben'] }, Date.UTC(2026, 10, 25));
		const read = docs.map(({ name, write }) => {
			const ref = parseDocName(name);
			const doc = new Y.Doc();
			write(doc);
			if (ref?.kind === 'job') return { ref, json: new JobDoc(doc, ref.id, reader).read() };
			if (ref?.kind === 'customer') return { ref, json: new CustomerDoc(doc, ref.id, reader).read() };
			if (ref?.kind === 'materials') return { ref, json: new MaterialListDoc(doc, ref.id, reader).list() };
			if (ref?.kind === 'job-owner') return { ref, json: new JobOwnerDoc(doc, ref.id, reader).read() };
			throw new Error(`bad demo document name ${name}`);
		});
		const jobs = read.filter((d) => d.ref.kind === 'job').map((d) => d.json as Record<string, unknown>);
		const customers = read
			.filter((d) => d.ref.kind === 'customer')
			.map((d) => d.json as Record<string, unknown>);
		expect(customers).toHaveLength(3);
		expect(jobs).toHaveLength(4);
		const customerIds = new Set(customers.map((c) => c.id));
		for (const job of jobs) {
			expect(customerIds.has(job.customerId)).toBe(true);
			expect((job.assignedTo as string[]).length).toBeGreaterThan(0);
		}
		expect(jobs.some((j) => (j.assignedTo as string[]).includes('ana'))).toBe(true);
		// AUD-2: prices live in the owner's document of each job, never in the crew's.
		expect(jobs.every((j) => !('price' in j))).toBe(true);
		const prices = read.filter((d) => d.ref.kind === 'job-owner');
		expect(prices.map((p) => p.ref.id).sort()).toEqual(jobs.map((j) => j.id).sort());
		expect(prices.every((p) => typeof (p.json as { price?: unknown }).price === 'number')).toBe(true);
		const lists = read.filter((d) => d.ref.kind === 'materials');
		expect(lists.map((l) => l.ref.id).sort()).toEqual(jobs.map((j) => j.id).sort());
		expect(lists.every((l) => (l.json as unknown[]).length > 0)).toBe(true);
	});

	it('seeding again restores demo values and keeps what users added', () => {
		const crew = { ownerId: 'owner', workerIds: ['ana', 'ben'] } as const;
		const docs = demoDocuments(crew);
		const materialsAt = docs.findIndex((d) => d.name.startsWith('materials:'));
		const [job, materials] = [docs[materialsAt - 2], docs[materialsAt]];
		if (!job || !materials) throw new Error('demo documents missing');
		const doc = new Y.Doc();
		materials.write(doc);
		const jobId = String(parseDocName(materials.name)?.id);
		const list = new MaterialListDoc(doc, jobId, reader);
		const [first] = list.list();
		list.require(String(first?.id)).set({ quantity: 999 });
		const added = list.add({ name: 'Extra flashing' }).id;
		demoDocuments(crew)[materialsAt]?.write(doc);
		expect(list.read(String(first?.id))?.quantity).toBe(first?.quantity);
		expect(list.read(added)?.name).toBe('Extra flashing');
		expect(list.list()).toHaveLength(5);
	});
});
