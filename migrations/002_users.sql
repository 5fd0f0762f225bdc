-- Users, token signing keys and the job-assignment lookup the websocket ACL reads.

CREATE TABLE IF NOT EXISTS users (
	id uuid PRIMARY KEY,
	-- Stored lower-cased by server/auth/users.ts so the unique index is case-insensitive in effect.
	email text NOT NULL UNIQUE CHECK (email = lower(email)),
	name text NOT NULL,
	role text NOT NULL CHECK (role IN ('OWNER', 'WORKER')),
	password_hash text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- Generated server secrets (token signing key). Kept in the database so tokens survive restarts and
-- every instance on the same database signs alike; AUTH_SECRET in the environment overrides it.
CREATE TABLE IF NOT EXISTS server_secrets (
	name text PRIMARY KEY,
	value text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- Which users are assigned to which job. The websocket ACL reads it; the projection (job docs →
-- rows) will become its only writer. No foreign keys: the jobs table is the projection's, and a
-- document may name a user this database has not seen yet (created offline elsewhere); the
-- projection must never fail on that.
CREATE TABLE IF NOT EXISTS job_assignments (
	job_id uuid NOT NULL,
	user_id uuid NOT NULL,
	PRIMARY KEY (job_id, user_id)
);
CREATE INDEX IF NOT EXISTS job_assignments_user_idx ON job_assignments (user_id);
