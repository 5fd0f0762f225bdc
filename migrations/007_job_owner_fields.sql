-- A job's owner-only fields (price) live in the `job-owner:<jobId>` document (docs/documents.md), so
-- the projection keeps them here until it merges them into the job's row: a job's `jobs.data` is its
-- crew part (`job:` document) plus this row's fields, and `jobs.state_vector` the merge of both
-- documents' state vectors, so a REST operation based on a version has seen the entries of both.
CREATE TABLE job_owner_fields (
	job_id uuid PRIMARY KEY,
	-- The owner part's JSON (crdt JobOwnerDoc.read()) plus its `updatedAt`.
	data jsonb NOT NULL,
	state_vector bytea NOT NULL,
	changed_by text,
	changed_by_role text
);
