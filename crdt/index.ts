/**
 * crdt/: the custom CRDT types that carry the spec's merge rules over Yjs. Pure and isomorphic —
 * imports only yjs, does no I/O — so the browser, the server and the tests share one implementation.
 * Rules and their ids: SPEC.md.
 */
export * from './add-wins-set.ts';
export * from './append-list.ts';
export * from './clock.ts';
export * from './counter.ts';
export * from './doc-names.ts';
export * from './documents.ts';
export * from './entity.ts';
export * from './entry.ts';
export * from './errors.ts';
export * from './keys.ts';
export * from './map-index.ts';
export * from './register.ts';
export * from './resolvers.ts';
export * from './schema.ts';
export * from './validate.ts';
export * from './writer.ts';
