-- Up Migration

-- One-time reveal keys of the in-app API. Only hashes are stored: the key's SHA-256, and the SHA-256 of the
-- client nonce (HMAC of a secret that never leaves the customer's device) the key is bound to.
CREATE TABLE reveal_keys (
  key_hash    bytea PRIMARY KEY CHECK (octet_length(key_hash) = 32),
  order_id    text NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
  user_id     text NOT NULL,
  nonce_hash  bytea NOT NULL CHECK (octet_length(nonce_hash) = 32),
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  consumed_at timestamptz
);
CREATE INDEX reveal_keys_order ON reveal_keys (order_id);
CREATE INDEX reveal_keys_user_expiry ON reveal_keys (user_id, expires_at);

-- The intake replay log: the SHA-256 of each accepted request signature, with the timestamp it was signed
-- for. Rows older than the replay window are purged by the API as requests come in.
CREATE TABLE intake_signatures (
  signature_hash bytea PRIMARY KEY CHECK (octet_length(signature_hash) = 32),
  caller         text NOT NULL,
  signed_at      timestamptz NOT NULL,
  received_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX intake_signatures_signed_at ON intake_signatures (signed_at);

-- Down Migration
DROP TABLE intake_signatures;
DROP TABLE reveal_keys;
