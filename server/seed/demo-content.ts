import { createHash } from 'node:crypto';
import type * as Y from 'yjs';
import {
	CustomerDoc,
	docName,
	HybridClock,
	JobDoc,
	JobOwnerDoc,
	type JobStatus,
	MaterialListDoc,
	type WriteContext
} from '../../crdt/index.ts';

/**
 * The demo company's documents: customers, jobs with crews, and material lists, written through the
 * same crdt views the app uses, so the demo exercises the real merge rules. The caller runs each
 * `write` inside a Hocuspocus direct connection, so persistence and the projection see it.
 */
export interface DemoCrew {
	ownerId: string;
	workerIds: readonly [string, string];
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

const CUSTOMERS = [
	{
		name: 'Harbor View Apartments',
		phone: '555-0142',
		email: 'manager@harborview.test',
		address: '12 Quay St'
	},
	{ name: 'Dana Whitfield', phone: '555-0178', email: 'dana.w@mail.test', address: '48 Birch Lane' },
	{ name: 'Greenleaf Café', phone: '555-0110', email: 'hello@greenleaf.test', address: '3 Market Sq' }
];

interface DemoJob {
	customer: number;
	title: string;
	status: JobStatus;
	startInDays: number;
	days: number;
	price: number;
	crew: (0 | 1)[];
	materials: [name: string, quantity: number, unit: string, purchased: boolean][];
}

const JOBS: DemoJob[] = [
	{
		customer: 0,
		title: 'Roof repair, building B',
		status: 'in_progress',
		startInDays: -1,
		days: 3,
		price: 8_400,
		crew: [0, 1],
		materials: [
			['Asphalt shingles', 24, 'bundle', true],
			['Ridge caps', 6, 'bundle', false],
			['Roofing nails', 5, 'kg', true],
			['Underlayment', 4, 'roll', false]
		]
	},
	{
		customer: 1,
		title: 'Kitchen backsplash',
		status: 'scheduled',
		startInDays: 2,
		days: 1,
		price: 1_250,
		crew: [0],
		materials: [
			['Subway tile', 9, 'm²', false],
			['Tile adhesive', 2, 'bag', false],
			['Grout, grey', 1, 'bag', false]
		]
	},
	{
		customer: 2,
		title: 'Storefront repaint',
		status: 'lead',
		startInDays: 10,
		days: 2,
		price: 3_100,
		crew: [1],
		materials: [
			['Exterior paint', 6, 'gallon', false],
			['Primer', 2, 'gallon', false]
		]
	},
	{
		customer: 0,
		title: 'Gutter replacement',
		status: 'done',
		startInDays: -9,
		days: 1,
		price: 2_300,
		crew: [0, 1],
		materials: [['Aluminium gutter', 30, 'm', true]]
	}
];

/**
 * Ids are derived from fixed labels, so seeding again rewrites the same documents (restoring the
 * demo values through the CRDT, keeping everything users added) instead of piling up copies.
 */
export function demoId(label: string): string {
	const hex = createHash('sha256').update(`khs-demo:${label}`).digest('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** One demo document: its name and how to write the demo state into the live Y.Doc. */
export interface DemoDocument {
	name: string;
	write(doc: Y.Doc): void;
}

export function demoDocuments(crew: DemoCrew, nowMs = Date.now()): DemoDocument[] {
	const ctx: WriteContext = {
		writer: { userId: crew.ownerId, deviceId: 'demo-seed', role: 'OWNER' },
		clock: new HybridClock(() => nowMs)
	};
	const customerIds = CUSTOMERS.map((c) => demoId(`customer:${c.name}`));
	const documents: DemoDocument[] = CUSTOMERS.map((customer, i) => {
		const id = customerIds[i] as string;
		return {
			name: docName('customer', id),
			write: (doc) => new CustomerDoc(doc, id, ctx).create(customer, nowMs)
		};
	});
	for (const job of JOBS) {
		const id = demoId(`job:${job.title}`);
		const start = Math.floor((nowMs + job.startInDays * DAY_MS) / DAY_MS) * DAY_MS + 8 * HOUR_MS;
		documents.push({
			name: docName('job', id),
			write: (doc) => {
				const view = new JobDoc(doc, id, ctx);
				view.create(
					{
						title: job.title,
						status: job.status,
						customerId: customerIds[job.customer] ?? null,
						scheduledStart: start,
						scheduledEnd: start + job.days * DAY_MS,
						address: CUSTOMERS[job.customer]?.address ?? '',
						deleted: false
					},
					nowMs
				);
				view.entity.replaceMembers(job.crew.map((i) => crew.workerIds[i]));
			}
		});
		documents.push({
			name: docName('job-owner', id),
			write: (doc) => new JobOwnerDoc(doc, id, ctx).entity.set({ price: job.price })
		});
		documents.push({
			name: docName('materials', id),
			write: (doc) => {
				const list = new MaterialListDoc(doc, id, ctx);
				for (const [name, quantity, unit, purchased] of job.materials) {
					const materialId = demoId(`material:${job.title}:${name}`);
					const fields = { name, quantity, unit, purchased, deleted: false };
					const existing = list.get(materialId);
					if (existing) existing.set(fields);
					else list.add({ id: materialId, ...fields }, nowMs);
				}
			}
		});
	}
	return documents;
}
