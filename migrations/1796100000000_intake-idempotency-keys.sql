-- Up Migration

-- Intake's Idempotency-Key (draft-ietf-httpapi-idempotency-key-header, api/intake/idempotency.ts): per caller
-- and key, a keyed fingerprint of the request it was first used with and the answer intake gave, so a retry
-- with the same key and body gets that answer again. The answer is a workflow id and a flag, never the
-- request (which holds the customer's email address). Rows expire; the API deletes them as requests come in.
CREATE TABLE intake_idempotency_keys (
  caller          text NOT NULL,
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request_hash    bytea NOT NULL CHECK (octet_length(request_hash) = 32),
  status          smallint NOT NULL,
  response        jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (caller, idempotency_key)
);
CREATE INDEX intake_idempotency_keys_expires_at ON intake_idempotency_keys (expires_at);

DO $$
DECLARE
  app text := current_setting('giftcards.app_role', true);
BEGIN
  IF app IS NULL OR app = '' OR app = current_user THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON intake_idempotency_keys TO %I', app);
END
$$;

-- Down Migration
DROP TABLE intake_idempotency_keys;
