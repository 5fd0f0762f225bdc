import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HybridClock } from '$crdt/clock.ts';
import { CustomerDoc, JobDoc, MaterialListDoc } from '$crdt/documents.ts';
import type { WriteContext } from '$crdt/entity.ts';
import {
	type DocRef,
	entitiesOf,
	entityView,
	subjectOf,
	tellsRevocation,
	touchedEntities
} from './doc-views.ts';
import { presenceColor, presenceList } from './presence.ts';

const JOB = '00000000-0000-4000-8000-000000000001';
const CUSTOMER = '00000000-0000-4000-8000-000000000002';
const ctx: WriteContext = {
	writer: { userId: 'ana', deviceId: 'ana-phone', role: 'OWNER' },
	clock: new HybridClock()
};
const ref = (kind: DocRef['kind'], entityId: string): DocRef => ({
	doc: new Y.Doc(),
	kind,
	entityId,
	ownerUserId: undefined
});

/** The transaction of one write, as the document's `afterTransaction` hands it over. */
function transactionOf(doc: Y.Doc, write: () => void): Y.Transaction {
	let seen: Y.Transaction | undefined;
	const onTransaction = (tr: Y.Transaction) => {
		seen = tr;
	};
	doc.on('afterTransaction', onTransaction);
	write();
	doc.off('afterTransaction', onTransaction);
	if (!seen) throw new Error('no transaction');
	return seen;
}

describe('document views of an open document (no browser needed)', () => {
	it('finds the entity of a job or customer document, and only by its own id', () => {
		const job = ref('job', JOB);
		new JobDoc(job.doc, JOB, ctx).create({ title: 'Roof' });
		expect(entityView(job, JOB, ctx)?.get('title')).toBe('Roof');
		expect(entityView(job, CUSTOMER, ctx)).toBeUndefined();
		expect(entitiesOf(job, ctx).map((e) => e.id)).toEqual([JOB]);
		expect(subjectOf(job, null, ctx)).toBe('Roof');

		const customer = ref('customer', CUSTOMER);
		expect(subjectOf(customer, null, ctx)).toBe('This customer');
		new CustomerDoc(customer.doc, CUSTOMER, ctx).create({ name: 'Dana' });
		expect(subjectOf(customer, null, ctx)).toBe('Dana');
	});

	it('a material list: each material is an entity, and a transaction touches the ones it wrote', () => {
		const list = ref('materials', JOB);
		const materials = new MaterialListDoc(list.doc, JOB, ctx);
		let firstId = '';
		transactionOf(list.doc, () => {
			firstId = materials.add({ name: 'Shingles', quantity: 3, unit: 'box' }).id;
		});
		const second = materials.add({ name: 'Nails', quantity: 1, unit: 'kg' });
		const tr = transactionOf(list.doc, () => second.set({ quantity: 2 }));
		expect(touchedEntities(list, tr)).toEqual([second.id]);
		expect(
			entitiesOf(list, ctx)
				.map((e) => e.id)
				.sort()
		).toEqual([firstId, second.id].sort());
		expect(subjectOf(list, entityView(list, firstId, ctx) ?? null, ctx)).toBe('Shingles');
		expect(subjectOf(list, null, ctx)).toBe('Materials');
		// A job document's transactions always touch its one entity.
		const job = ref('job', JOB);
		const jobTr = transactionOf(job.doc, () => new JobDoc(job.doc, JOB, ctx).create({ title: 'Roof' }));
		expect(touchedEntities(job, jobTr)).toEqual([JOB]);
	});

	it('taking someone off a job raises one notice, from the job (not its materials or customer)', () => {
		const jobRevoked = { kind: 'job', denied: 'access_revoked' } as const;
		expect(tellsRevocation('job', [jobRevoked])).toBe(true);
		expect(tellsRevocation('materials', [jobRevoked])).toBe(false);
		expect(tellsRevocation('customer', [jobRevoked])).toBe(false);
		// The customer page open alone: its close is the only one, so it tells.
		expect(tellsRevocation('customer', [{ kind: 'customer', denied: 'access_revoked' }])).toBe(true);
	});
});

describe('presence (awareness states are whatever peers sent)', () => {
	it('lists other people once each, never this tab or this person, with a stable colour', () => {
		const states = new Map<number, unknown>([
			[1, { user: { id: 'me', name: 'Me' } }],
			[2, { user: { id: 'ben', name: '', role: 'WORKER', color: '#111' } }],
			[3, { user: { id: 'ben', name: 'Ben again' } }],
			[4, { user: { id: 'olga' } }],
			[5, null],
			[6, { user: { name: 'no id' } }],
			[7, { user: { id: 'zoe', name: 'Zoe' } }]
		]);
		const list = presenceList(states, { clientId: 7, userId: 'me' }, (id) =>
			id === 'ben' ? 'Ben' : undefined
		);
		expect(list).toEqual([
			{ clientId: 2, id: 'ben', name: 'Ben', role: 'WORKER', color: '#111' },
			{ clientId: 4, id: 'olga', name: 'Someone', role: '', color: '#555' }
		]);
		expect(presenceColor('ana')).toBe(presenceColor('ana'));
		expect(presenceColor('ana')).toMatch(/^#[0-9a-f]{6}$/);
	});
});
