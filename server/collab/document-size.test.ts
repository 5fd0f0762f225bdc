import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DocumentSizes } from './document-size.ts';

function docOf(bytes: number): Y.Doc {
	const doc = new Y.Doc();
	doc.getText('t').insert(0, 'x'.repeat(bytes));
	return doc;
}

describe('DocumentSizes (SOCK-4)', () => {
	it('admits updates while measured size plus admitted bytes stays within the limit', () => {
		const sizes = new DocumentSizes(10_000, 1_000, () => 0);
		const doc = docOf(5_000);
		expect(sizes.admit(doc, 4_000)).toBe(true);
		// 5,000 + 4,000 admitted: another 2,000 could pass the limit, and it was measured just now.
		expect(sizes.admit(doc, 2_000)).toBe(false);
	});

	it('measures again (at most once per interval) before refusing: admitted bytes over-estimate', () => {
		let nowMs = 0;
		const sizes = new DocumentSizes(10_000, 1_000, () => nowMs);
		const doc = docOf(5_000);
		expect(sizes.admit(doc, 4_000)).toBe(true); // never applied: the document stays ~5,000
		nowMs += 1_000;
		expect(sizes.admit(doc, 2_000)).toBe(true);
	});

	it('refuses an update that would grow a measured document past the limit', () => {
		const sizes = new DocumentSizes(10_000, 0, () => 0);
		expect(sizes.admit(docOf(9_000), 2_000)).toBe(false);
	});

	it('admits updates to a document that is not loaded yet', () => {
		expect(new DocumentSizes(10, 0).admit(undefined, 1_000)).toBe(true);
	});
});
