import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HybridClock } from '$crdt/clock.ts';
import { MaterialListDoc } from '$crdt/documents.ts';
import type { WriteContext } from '$crdt/entity.ts';
import { UndoHistory } from './undo-history.ts';

const LOCAL = { source: 'test-local' };
const UNDO = { source: 'test-undo' };

function setup(userId = 'u1') {
	const doc = new Y.Doc();
	const ctx: WriteContext = {
		writer: { userId, deviceId: 'd1', role: 'WORKER' },
		clock: new HybridClock(),
		origin: LOCAL
	};
	const root = doc.getMap('materials');
	const history = new UndoHistory({
		doc,
		localOrigin: LOCAL,
		undoOrigin: UNDO,
		userId,
		entity: (id, forUndo) =>
			new MaterialListDoc(doc, 'job', forUndo ? { ...ctx, origin: UNDO } : ctx).get(id),
		touched: (tr) => {
			const ids = new Set<string>();
			for (const [type, keys] of tr.changed) {
				if ((type as unknown) === root) for (const k of keys) if (k) ids.add(k);
				const item = (type as unknown as { _item?: { parent?: unknown; parentSub?: string } })._item;
				if (item?.parent === root && item.parentSub) ids.add(item.parentSub);
			}
			return ids;
		},
		exists: () => true
	});
	return { doc, list: new MaterialListDoc(doc, 'job', ctx), history, root };
}

describe('undo history (SPEC TOMB-2, NOTE-1: undo never erases, it tombstones or hides)', () => {
	it('undoes an add by tombstone and a note by hiding it; redo brings both back', () => {
		const { list, history, root } = setup();
		const grout = list.add({ name: 'Grout', quantity: 2, unit: 'bag' });
		grout.set({ quantity: 5 });
		const noteId = grout.appendNote('Buy sanded');
		expect(grout.notes().find((n) => n.id === noteId)?.deleted).toBe(false);

		expect(history.undo()).toBe(true);
		expect(grout.notes().find((n) => n.id === noteId)?.deleted).toBe(true);
		expect(history.undo()).toBe(true);
		expect(grout.get('quantity')).toBe(2);
		expect(history.undo()).toBe(true);
		expect(grout.get('deleted')).toBe(true);
		// The map is still there: nothing was removed, only tombstoned.
		expect(root.has(grout.id)).toBe(true);
		expect(history.canUndo()).toBe(false);

		history.redo();
		expect(grout.get('deleted')).toBe(false);
		history.redo();
		expect(grout.get('quantity')).toBe(5);
		history.redo();
		expect(grout.notes().find((n) => n.id === noteId)?.deleted).toBe(false);
	});

	it('ignores other people’s changes and undoes mine to the value I saw', () => {
		const { doc, list, history } = setup();
		const m = list.add({ name: 'Nails', quantity: 1 });
		// Someone else's write arrives (not the local origin).
		const other = new MaterialListDoc(doc, 'job', {
			writer: { userId: 'u2', deviceId: 'd2', role: 'OWNER' },
			clock: new HybridClock(),
			origin: 'remote'
		});
		other.require(m.id).set({ name: 'Roofing nails' });
		m.set({ name: 'Copper nails' });
		history.undo();
		expect(m.get('name')).toBe('Roofing nails');
		history.undo();
		expect(m.get('deleted')).toBe(true);
		expect(history.canUndo()).toBe(false);
	});

	it('one typing session in one field is one step', () => {
		const { list, history } = setup();
		const m = list.add({ name: 'T' });
		m.set({ name: 'Ti' });
		m.set({ name: 'Tile' });
		history.undo();
		expect(m.get('name')).toBe('T');
	});
});
