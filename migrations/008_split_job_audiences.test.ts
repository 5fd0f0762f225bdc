import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	Entity,
	HybridClock,
	JOB,
	JobDoc,
	JobOwnerDoc,
	PrivateNotesDoc,
	privateNotesDocName,
	type Role,
	type WriteContext
} from '../crdt/index.ts';
import { assembleServer } from '../server/assemble.ts';
import { migrate } from '../server/db/migrate.ts';
import type { Db } from '../server/db/port.ts';
import { createDocStore } from '../server/docs/store.ts';
import { silentLogger } from '../server/logger.ts';
import { openMigratedTestDb, type TestDbKind, testAuthSecret } from '../server/testing/app.ts';

/**
 * The first layout (SPEC DOC-1, retired) kept price and private notes in `job:`: this builds a job
 * document exactly as that code wrote it — the whole JOB definition over the `job` map — stores it
 * as log rows and a snapshot, and checks that migration 008 moves both out without loss.
 */
const PRICE = 98765.4321;
const MARKER = 'MARKER-ana-private-7f3c';
const OWNER_ID = '00000000-0000-4000-8000-0000000000a1';
const ANA_ID = '00000000-0000-4000-8000-0000000000a2';

const ctx = (userId: string, role: Role): WriteContext => ({
	writer: { userId, deviceId: `${userId}-device`, role },
	clock: new HybridClock()
});

/** Bytes of `value` as float64, in both byte orders (lib0 writes big-endian). */
function floatBytes(value: number): Buffer[] {
	const be = Buffer.alloc(8);
	be.writeDoubleBE(value);
	return [be, Buffer.from(be).reverse()];
}

/** Every stored byte of a document: its snapshot and each of its log rows. */
async function storedStates(db: Db, name: string): Promise<Buffer[]> {
	const { rows } = await db.query<{ payload: Uint8Array }>(
		`SELECT state AS payload FROM doc_snapshots WHERE doc_name = $1 AND state IS NOT NULL
		 UNION ALL SELECT payload FROM doc_updates WHERE doc_name = $1`,
		[name]
	);
	return rows.map((r) => Buffer.from(r.payload));
}

async function writeFirstLayoutJob(db: Db, jobId: string): Promise<{ priceKeys: string[]; noteId: string }> {
	const doc = new Y.Doc();
	const rows: Uint8Array[] = [];
	doc.on('update', (update: Uint8Array) => rows.push(update));
	const asOwner = new Entity(jobId, doc.getMap('job'), JOB, ctx(OWNER_ID, 'OWNER'));
	asOwner.set({ title: 'Roof repair', status: 'scheduled', createdAt: 1, price: 1200 });
	asOwner.set({ price: PRICE });
	asOwner.appendPrivateNote('owner private');
	const asAna = new Entity(jobId, doc.getMap('job'), JOB, ctx(ANA_ID, 'WORKER'));
	const noteId = asAna.appendPrivateNote(MARKER);
	asAna.appendNote('shared note');
	// Half compacted, half still in the log: the migration must clean both.
	const [first, ...rest] = rows;
	await db.query('INSERT INTO doc_snapshots (doc_name, state) VALUES ($1, $2)', [`job:${jobId}`, first]);
	for (const row of rest)
		await db.query('INSERT INTO doc_updates (doc_name, payload) VALUES ($1, $2)', [`job:${jobId}`, row]);
	const priceKeys = [...doc.getMap('job').keys()].filter((k) => k.startsWith('price|'));
	return { priceKeys, noteId };
}

describe.each<TestDbKind>(['pg', 'pglite'])('migration 008: split job audiences (%s)', (kind) => {
	let drop: (() => Promise<void>) | undefined;
	afterEach(async () => {
		await drop?.();
		drop = undefined;
	});

	it('AUD-2 moves price and private notes with their stamps; no stored state of job: holds them after', async () => {
		const t = await openMigratedTestDb(kind);
		drop = t.drop;
		const { db } = t;
		// The database as the first layout left it: 001–007 applied, 008 not yet.
		await db.query('DELETE FROM schema_migrations WHERE version = 8');
		const jobId = crypto.randomUUID();
		const before = await writeFirstLayoutJob(db, jobId);
		const beforeState = Buffer.concat(await storedStates(db, `job:${jobId}`));
		expect(beforeState.includes(Buffer.from(MARKER))).toBe(true); // the test can see a leak

		const { applied } = await migrate(db);
		expect(applied).toEqual(['008_split_job_audiences.ts']);

		const jobStates = await storedStates(db, `job:${jobId}`);
		for (const state of jobStates) {
			expect(state.includes(Buffer.from(MARKER))).toBe(false);
			expect(state.includes(Buffer.from('owner private'))).toBe(false);
			for (const bytes of floatBytes(PRICE)) expect(state.includes(bytes)).toBe(false);
		}
		const store = createDocStore(db);
		const load = async (name: string) => {
			const doc = new Y.Doc();
			Y.applyUpdate(doc, (await store.load(name)) ?? new Uint8Array());
			return doc;
		};
		const reader = ctx(OWNER_ID, 'OWNER');
		const job = new JobDoc(await load(`job:${jobId}`), jobId, reader);
		expect(job.read()).toMatchObject({ title: 'Roof repair', status: 'scheduled', notes: 'shared note' });
		expect(
			[...job.entity.map.keys()].some((k) => k.startsWith('price|') || k.startsWith('privateNotes|'))
		).toBe(false);

		const ownerDoc = new JobOwnerDoc(await load(`job-owner:${jobId}`), jobId, reader);
		expect(ownerDoc.read()).toEqual({ price: PRICE });
		// Same keys, same stamps: the register still has exactly the entry the owner last wrote.
		expect(ownerDoc.entity.field('price').entries).toHaveLength(1);
		expect([...ownerDoc.entity.map.keys()].every((k) => before.priceKeys.includes(k))).toBe(true);
		const anaNotes = new PrivateNotesDoc(
			await load(privateNotesDocName(jobId, ANA_ID)),
			jobId,
			ANA_ID,
			reader
		);
		expect(anaNotes.entity.privateNotes(ANA_ID).map((n) => [n.id, n.text, n.u])).toEqual([
			[before.noteId, MARKER, ANA_ID]
		]);
		const ownerNotes = new PrivateNotesDoc(
			await load(privateNotesDocName(jobId, OWNER_ID)),
			jobId,
			OWNER_ID,
			reader
		);
		expect(ownerNotes.entity.privateNotes(OWNER_ID).map((n) => n.text)).toEqual(['owner private']);

		// Idempotent: recorded, so a second start applies nothing and changes nothing.
		expect((await migrate(db)).applied).toEqual([]);
		const { up } = await import('./008_split_job_audiences.ts');
		await db.transaction((tx) => up(tx));
		expect(await storedStates(db, `job:${jobId}`)).toEqual(jobStates);

		// The owner still reads the price on the projected job, before the owner document ever loads.
		const server = await assembleServer({ db, logger: silentLogger(), authSecret: testAuthSecret });
		try {
			const connection = await server.app.hocuspocus.openDirectConnection(`job:${jobId}`, {
				user: { id: OWNER_ID, name: 'Owner', role: 'OWNER' },
				access: 'write'
			});
			await server.sync.projection.projectNow(`job:${jobId}`);
			await connection.disconnect();
			const { rows } = await db.query<{ data: Record<string, unknown> }>(
				'SELECT data FROM jobs WHERE id = $1',
				[jobId]
			);
			expect(rows[0]?.data).toMatchObject({ title: 'Roof repair', price: PRICE });
		} finally {
			await server.close();
		}
	});
});
