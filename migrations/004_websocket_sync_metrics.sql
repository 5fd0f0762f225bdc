-- Websocket syncs in the health report (issue 5 "sync health"): the app syncs over Hocuspocus, not
-- the REST sync API, so its document connections are recorded too (server/collab/sync-sessions.ts).
--   ws_sync  — one document connection from connect until its initial sync (duration = time to synced),
--              or its failure (refused, closed before synced).
--   ws_edits — a device's edits over open connections, aggregated per device and time window; it has
--              no duration (NULL), so average durations stay "time to synced".
ALTER TABLE sync_metrics DROP CONSTRAINT sync_metrics_kind_check;
ALTER TABLE sync_metrics ADD CONSTRAINT sync_metrics_kind_check
	CHECK (kind IN ('push', 'pull', 'ws_sync', 'ws_edits'));
ALTER TABLE sync_metrics ALTER COLUMN duration_ms DROP NOT NULL;

-- A device that only syncs over the websocket has no REST continuation token.
ALTER TABLE sync_devices ALTER COLUMN sync_token DROP NOT NULL;
