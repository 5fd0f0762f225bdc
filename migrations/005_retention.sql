-- Retention of the change feed and of push idempotency records (docs/server-rules.md FEED-1…FEED-6;
-- server/sync/retention.ts deletes, server/sync/change-feed.ts checks).
--
-- The horizon is the greatest feed position (txid, seq) of any change_log row retention has deleted.
-- It is advanced in the same statement as the DELETE, so a pull that reads it after reading the feed
-- knows exactly whether a row past its token may be gone (FEED-3): a token below it answers 410.
CREATE TABLE change_log_horizon (
	only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	txid xid8 NOT NULL DEFAULT '0'::xid8,
	seq bigint NOT NULL DEFAULT 0,
	advanced_at timestamptz
);
INSERT INTO change_log_horizon DEFAULT VALUES;

-- Retention scans both tables by age.
CREATE INDEX sync_operations_processed_at_idx ON sync_operations (processed_at);
