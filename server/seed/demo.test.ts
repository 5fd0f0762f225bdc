import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HybridClock, JobDoc, MaterialListDoc, parseDocName, type WriteContext } from '../../crdt/index.ts';
import { type AssembledServer, assembleServer } from '../assemble.ts';
import type { Db } from '../db/port.ts';
import { openMigratedTestDb } from '../testing/app.ts';
import { ensureDemoUsers, seedDemoDocuments, seedDemoIfEmpty } from './demo.ts';
import { demoDocuments } from './demo-content.ts';

const reader: WriteContext = {
	writer: { userId: 'r', deviceId: 'r', role: 'OWNER' },
	clock: new HybridClock()
};

let db: Db;
let drop: () => Promise<void>;
let server: AssembledServer;

beforeAll(async () => {
	({ db, drop } = await openMigratedTestDb('pg'));
	server = await assembleServer({
		db,
		logger: pino({ level: 'silent' }),
		authSecret: 'x'.repeat(32),
		pages: null
	});
});

afterAll(async () => {
	await server.close();
	await drop();
});

describe('demo seed', () => {
	it('seeds users once, and documents that are stored durably and read back through the crdt views', async () => {
		const crew = await seedDemoIfEmpty(db);
		expect(crew).not.toBeNull();
		expect(await seedDemoIfEmpty(db)).toBeNull();
		if (!crew) return;
		await seedDemoDocuments(server.app.hocuspocus, crew);
		await server.store.flush();
		for (const { name } of demoDocuments(crew)) {
			const stored = await server.store.load(name);
			expect(stored, name).not.toBeNull();
			const doc = new Y.Doc();
			Y.applyUpdate(doc, stored as Uint8Array);
			const ref = parseDocName(name);
			if (ref?.kind === 'job') expect(new JobDoc(doc, ref.id, reader).read()?.assignedTo).not.toEqual([]);
			if (ref?.kind === 'materials')
				expect(new MaterialListDoc(doc, ref.id, reader).list().length).toBeGreaterThan(0);
		}
	});

	it('re-seeding reuses the demo users and rewrites the same documents', async () => {
		const first = await ensureDemoUsers(db);
		const again = await ensureDemoUsers(db);
		expect(again).toEqual(first);
		await seedDemoDocuments(server.app.hocuspocus, again);
		const { rows } = await db.query<{ n: number }>(
			// Log rows or the snapshot a background compaction (on unload) folded them into.
			'SELECT count(DISTINCT doc_name)::int AS n FROM (SELECT doc_name FROM doc_updates UNION SELECT doc_name FROM doc_snapshots) d'
		);
		expect(rows[0]?.n).toBe(demoDocuments(again).length);
	});
});
