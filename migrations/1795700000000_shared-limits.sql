-- Up Migration

-- Rate-limit counters shared by every API process (api/http/rate-limit-store.ts): one row per bucket and
-- client, whose window starts at the client's first request and ends at window_ends (database time, so
-- replicas with skewed clocks agree). UNLOGGED: counters are worth no WAL; a database crash empties them,
-- which costs at most one window of budget, and no standby needs them.
CREATE UNLOGGED TABLE rate_limit_counters (
  bucket      text NOT NULL,
  key         text NOT NULL,
  count       integer NOT NULL,
  window_ends timestamptz NOT NULL,
  PRIMARY KEY (bucket, key)
);
-- The sweep deletes ended windows in batches.
CREATE INDEX rate_limit_counters_window_ends ON rate_limit_counters (window_ends);

-- The codec endpoint's operator sessions (api/codec-endpoint/operator-auth.ts): only the SHA-256 of the
-- cookie's random id, so a dump of this table signs nobody in. A logout sets revoked_at; the row stays
-- until it would have expired anyway.
CREATE TABLE operator_sessions (
  session_hash bytea PRIMARY KEY CHECK (octet_length(session_hash) = 32),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz
);
CREATE INDEX operator_sessions_expires_at ON operator_sessions (expires_at);

DO $$
DECLARE
  app text := current_setting('giftcards.app_role', true);
BEGIN
  IF app IS NULL OR app = '' OR app = current_user THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_counters, operator_sessions TO %I', app);
END
$$;

-- Down Migration
DROP TABLE operator_sessions;
DROP TABLE rate_limit_counters;
