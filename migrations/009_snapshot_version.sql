-- A snapshot's version, raised by every compaction that writes it (server/docs/store.ts). A server
-- holding a document in memory knows which version its copy contains; while the row still has that
-- version, the copy can itself become the next snapshot (compare-and-set on `version`), instead of
-- the snapshot and every log row being read back and applied again. 0 = no snapshot written yet.
ALTER TABLE doc_snapshots ADD COLUMN version bigint NOT NULL DEFAULT 0;
