import type { Document } from '@hocuspocus/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HybridClock, MaterialListDoc, type WriteContext } from '../../crdt/index.ts';
import { migrate } from '../db/migrate.ts';
import { openTestPgDb, type TestPgDb } from '../db/testing.ts';
import { waitFor } from '../testing/app.ts';
import { createProjectionExtension, type ProjectedEvent, type ProjectionExtension } from './extension.ts';

const ctx: WriteContext = {
	writer: { userId: '00000000-0000-4000-8000-00000000000a', deviceId: 'test', role: 'OWNER' },
	clock: new HybridClock()
};

/** A `materials:` document with `count` materials, loaded into the extension like Hocuspocus would. */
async function loadList(projection: ProjectionExtension, count: number) {
	const jobId = crypto.randomUUID();
	const doc = new Y.Doc();
	const list = new MaterialListDoc(doc, jobId, ctx);
	const ids = Array.from({ length: count }, (_, i) => list.add({ name: `m${i}`, quantity: i }).id);
	const documentName = `materials:${jobId}`;
	await projection.afterLoadDocument?.({ documentName, document: doc as Document } as never);
	return { doc, list, ids, documentName };
}

function nextProjection(projection: ProjectionExtension, documentName: string): Promise<ProjectedEvent> {
	return waitFor(`projection of ${documentName}`, (done) => {
		const off = projection.onProjected((event) => {
			if (event.documentName !== documentName) return;
			off();
			done(event);
		});
	});
}

describe('projection extension (pg): incremental passes', () => {
	let t: TestPgDb;
	let projection: ProjectionExtension;

	beforeAll(async () => {
		t = await openTestPgDb();
		await migrate(t.db);
		projection = createProjectionExtension({ db: t.db, coalesceMs: 10 });
	});
	afterAll(async () => {
		await projection.flush();
		await t?.dropSchema();
	});

	async function versions(ids: string[]): Promise<Map<string, number>> {
		const { rows } = await t.db.query<{ id: string; version: number }>(
			'SELECT id::text AS id, version FROM materials WHERE id = ANY($1::uuid[])',
			[ids]
		);
		return new Map(rows.map((r) => [r.id, r.version]));
	}

	it('projects a loaded list in full, then only the material that changed', async () => {
		const { list, ids, documentName } = await loadList(projection, 3);
		await projection.flush();
		expect([...(await versions(ids)).values()]).toEqual([1, 1, 1]);

		const projected = nextProjection(projection, documentName);
		list.require(ids[1] as string).set({ quantity: 42 });
		const event = await projected;
		expect(event.changed.map((c) => c.id)).toEqual([ids[1]]);
		const after = await versions(ids);
		expect(after.get(ids[1] as string)).toBe(2);
		expect(after.get(ids[0] as string)).toBe(1);
	});

	it('projectNow on an unchanged document writes nothing and returns the transaction that did', async () => {
		const { ids, documentName } = await loadList(projection, 1);
		const first = await projection.projectNow(documentName);
		expect(first.changed).toHaveLength(1);
		const again = await projection.projectNow(documentName);
		expect(again.changed).toEqual([]);
		expect(again.txid).toBe(first.txid);
		expect((await versions(ids)).get(ids[0] as string)).toBe(1);
	});

	it('projectAllNow writes several documents in one transaction and returns its id', async () => {
		const a = await loadList(projection, 1);
		const b = await loadList(projection, 1);
		await projection.flush();
		a.list.require(a.ids[0] as string).set({ quantity: 7 });
		b.list.require(b.ids[0] as string).set({ quantity: 8 });
		const [ra, rb] = await projection.projectAllNow([
			{ documentName: a.documentName },
			{ documentName: b.documentName }
		]);
		expect(ra?.changed).toHaveLength(1);
		expect(ra?.txid).not.toBeNull();
		expect(rb?.txid).toBe(ra?.txid);
		const { rows } = await t.db.query<{ txid: string }>(
			'SELECT DISTINCT txid::text AS txid FROM change_log WHERE entity_id = ANY($1::uuid[]) AND version = 2',
			[[a.ids[0], b.ids[0]]]
		);
		expect(rows.map((r) => r.txid)).toEqual([ra?.txid]);
	});
});
