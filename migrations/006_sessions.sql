-- Sessions that end (docs/server-rules.md "Sessions"): a login token carries an id (jti) and its
-- issue time; these columns and this table let the server refuse a token before it expires.

-- SES-3: an owner can disable a user; a disabled user's tokens are refused and login is refused.
ALTER TABLE users ADD COLUMN IF NOT EXISTS disabled boolean NOT NULL DEFAULT false;
-- SES-2: every token issued at or before this instant is refused ("log out everywhere").
-- NULL: no revocation yet. Compared with the token's issue time in epoch milliseconds.
ALTER TABLE users ADD COLUMN IF NOT EXISTS sessions_valid_after timestamptz;

-- SES-1: one revoked token (logout). Kept only until the token would have expired anyway; rows past
-- `expires_at` may be deleted at any time (server/auth/sessions.ts prunes them on logout).
CREATE TABLE IF NOT EXISTS revoked_tokens (
	jti uuid PRIMARY KEY,
	user_id uuid NOT NULL,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS revoked_tokens_expires_idx ON revoked_tokens (expires_at);
