-- Document storage (server/docs/store.ts). Durability comes from the append-only log; snapshots
-- are compacted from it in the background. See DESIGN.md "Storage" and issue 3.

-- One row per Yjs update, appended (group-committed) before the client is told it is durable.
-- seq orders rows for reading only: bigserial order is NOT commit order, so compaction deletes
-- exactly the rows it read, never "seq <= N".
CREATE TABLE doc_updates (
	seq bigserial PRIMARY KEY,
	doc_name text NOT NULL,
	payload bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX doc_updates_doc_name_seq ON doc_updates (doc_name, seq);

-- The compacted state of a document (Y.encodeStateAsUpdate of snapshot + the rows folded into it).
-- state is NULL only for a row created to be locked by a first compaction (SELECT ... FOR UPDATE
-- needs a row), and compaction replaces it in the same transaction.
CREATE TABLE doc_snapshots (
	doc_name text PRIMARY KEY,
	state bytea,
	updated_at timestamptz NOT NULL DEFAULT now()
);
