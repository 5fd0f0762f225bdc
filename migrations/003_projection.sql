-- Projection of documents into rows, and the change log (issue 4; DESIGN "Entities", "Sync API").
-- The projection (server/projection/) is the ONLY writer of customers, jobs and materials. Each row
-- holds the entity's plain JSON (without `version`), its version, and the document's state vector
-- at that version: a REST operation based on version v has seen exactly the register entries inside
-- that vector (DESIGN "What an operation has seen").

CREATE TABLE customers (
	id uuid PRIMARY KEY,
	data jsonb NOT NULL,
	version integer NOT NULL,
	state_vector bytea NOT NULL,
	-- Author (user id) and role of the latest write in the entity, for changedBy and ROLE_BASED.
	changed_by text,
	changed_by_role text,
	projected_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
	id uuid PRIMARY KEY,
	customer_id uuid,
	data jsonb NOT NULL,
	version integer NOT NULL,
	state_vector bytea NOT NULL,
	changed_by text,
	changed_by_role text,
	projected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_customer_id_idx ON jobs (customer_id);

CREATE TABLE materials (
	id uuid PRIMARY KEY,
	job_id uuid NOT NULL,
	data jsonb NOT NULL,
	version integer NOT NULL,
	state_vector bytea NOT NULL,
	changed_by text,
	changed_by_role text,
	projected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX materials_job_id_idx ON materials (job_id);

-- The spec's ChangeTracker. Read in (txid, seq) order and only below the oldest running transaction
-- (pg_snapshot_xmin), so a change whose transaction commits late is never skipped: bigserial order
-- is not commit order (server/sync/change-feed.ts).
CREATE TABLE change_log (
	seq bigserial PRIMARY KEY,
	txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
	entity_type text NOT NULL CHECK (entity_type IN ('customer', 'job', 'material')),
	entity_id uuid NOT NULL,
	-- TG_OP (INSERT, UPDATE, DELETE), or REVEAL: a re-announcement of an unchanged entity to users who
	-- just gained sight of it (a crew assigned to a job sees its materials and customer).
	operation text NOT NULL,
	user_id text,
	version integer NOT NULL,
	data jsonb NOT NULL,
	state_vector bytea,
	-- The job an entity belongs to (a job's own id; a material's job), for workers' visibility.
	job_id uuid,
	changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX change_log_order_idx ON change_log (txid, seq);
CREATE INDEX change_log_entity_version_idx ON change_log (entity_type, entity_id, version);

-- One function for the three tables; TG_ARGV[0] is the entity name. DELETE reads OLD (the spec's
-- trigger reads NEW, which is NULL on DELETE).
CREATE FUNCTION track_changes() RETURNS trigger AS $$
DECLARE
	r jsonb;
BEGIN
	IF TG_OP = 'DELETE' THEN
		r := to_jsonb(OLD);
	ELSE
		r := to_jsonb(NEW);
	END IF;
	INSERT INTO change_log (entity_type, entity_id, operation, user_id, version, data, state_vector, job_id)
	VALUES (
		TG_ARGV[0],
		(r->>'id')::uuid,
		TG_OP,
		r->>'changed_by',
		(r->>'version')::integer,
		r->'data',
		CASE WHEN TG_OP = 'DELETE' THEN OLD.state_vector ELSE NEW.state_vector END,
		CASE TG_ARGV[0] WHEN 'job' THEN (r->>'id')::uuid WHEN 'material' THEN (r->>'job_id')::uuid END
	);
	IF TG_OP = 'DELETE' THEN
		RETURN OLD;
	END IF;
	RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER track_customers_changes AFTER INSERT OR UPDATE OR DELETE ON customers
	FOR EACH ROW EXECUTE FUNCTION track_changes('customer');
CREATE TRIGGER track_jobs_changes AFTER INSERT OR UPDATE OR DELETE ON jobs
	FOR EACH ROW EXECUTE FUNCTION track_changes('job');
CREATE TRIGGER track_materials_changes AFTER INSERT OR UPDATE OR DELETE ON materials
	FOR EACH ROW EXECUTE FUNCTION track_changes('material');

-- Idempotency of POST /api/sync/push: one row per processed operation id, with its outcome.
CREATE TABLE sync_operations (
	id text PRIMARY KEY,
	user_id uuid NOT NULL,
	device_id text NOT NULL,
	status text NOT NULL,
	entity text,
	entity_id text,
	version integer,
	processed_at timestamptz NOT NULL DEFAULT now()
);

-- The last sync of each device (GET /api/sync/status, /api/sync/devices).
CREATE TABLE sync_devices (
	user_id uuid NOT NULL,
	device_id text NOT NULL,
	last_sync_at timestamptz NOT NULL,
	sync_token text NOT NULL,
	PRIMARY KEY (user_id, device_id)
);

-- The spec's SyncAnalytics records (GET /api/sync/health): one row per push or pull.
CREATE TABLE sync_metrics (
	id bigserial PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	kind text NOT NULL CHECK (kind IN ('push', 'pull')),
	user_id uuid,
	device_id text,
	duration_ms double precision NOT NULL,
	success boolean NOT NULL,
	operations integer NOT NULL DEFAULT 0,
	conflicts integer NOT NULL DEFAULT 0,
	data_bytes integer NOT NULL DEFAULT 0,
	error text
);
CREATE INDEX sync_metrics_at_idx ON sync_metrics (at);
