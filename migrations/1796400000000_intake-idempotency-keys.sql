-- Up Migration

-- Intake's Idempotency-Key (draft-ietf-httpapi-idempotency-key-header, api/intake/idempotency.ts; its
-- statements in store/intake.ts): per caller and key, a keyed fingerprint of the request it was first used with and the answer intake gave, so a retry
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

-- The API alone reads and writes the keys (giftcards.api_role, as 1796100000000_component-roles). Without
-- component roles (one app role for every component, outside production), that one role keeps intake working.
DO $$
DECLARE
  api text := nullif(current_setting('giftcards.api_role', true), '');
  app text := nullif(current_setting('giftcards.app_role', true), '');
  split boolean := api IS NOT NULL OR nullif(current_setting('giftcards.worker_role', true), '') IS NOT NULL
    OR nullif(current_setting('giftcards.retention_role', true), '') IS NOT NULL
    OR nullif(current_setting('giftcards.cli_role', true), '') IS NOT NULL;
BEGIN
  IF api IS NOT NULL AND api = current_user THEN
    RAISE EXCEPTION 'a component role must not be the migrations'' role (%)', api;
  END IF;
  IF api IS NOT NULL THEN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON intake_idempotency_keys TO %I', api);
  ELSIF NOT split AND app IS NOT NULL AND app <> current_user THEN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON intake_idempotency_keys TO %I', app);
  END IF;
END
$$;

-- Down Migration
DROP TABLE intake_idempotency_keys;
