-- Up Migration

-- One row per order. No card data and no customer email here: the email travels only inside the
-- (codec-encrypted) workflow input.
CREATE TABLE orders (
  order_id        text PRIMARY KEY,
  user_id         text NOT NULL,
  workflow_id     text NOT NULL,
  provider_status text NOT NULL DEFAULT 'PENDING',
  quantity        integer,
  outcome         text,
  failure_reason  text,
  policy          jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz,
  purge_after     timestamptz,
  purged_at       timestamptz
);
CREATE INDEX orders_purge_due ON orders (purge_after) WHERE purged_at IS NULL;

-- Cards: Vault transit ciphertext only. blind_index is a transit HMAC (pinned key version) used to store
-- a card repeated by the provider once; key_name is the month bucket the card was encrypted under.
CREATE TABLE cards (
  id          bigserial PRIMARY KEY,
  order_id    text NOT NULL REFERENCES orders (order_id),
  blind_index text NOT NULL,
  value_ct    text NOT NULL CHECK (value_ct LIKE 'vault:v%'),
  serial_ct   text NOT NULL CHECK (serial_ct LIKE 'vault:v%'),
  key_name    text NOT NULL,
  stored_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (order_id, blind_index)
);
CREATE INDEX cards_key_name ON cards (key_name);

-- A delivery is one link sent for a set of cards; its id is deterministic (order id and sequence) so
-- that a retried activity finds it instead of creating another.
CREATE TABLE deliveries (
  id          text PRIMARY KEY,
  order_id    text NOT NULL REFERENCES orders (order_id),
  kind        text NOT NULL CHECK (kind IN ('batch', 'resend', 'notice')),
  card_count  integer NOT NULL,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz
);
CREATE INDEX deliveries_order ON deliveries (order_id);

CREATE TABLE delivery_cards (
  delivery_id text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  card_id     bigint NOT NULL REFERENCES cards (id) ON DELETE CASCADE,
  PRIMARY KEY (delivery_id, card_id)
);
CREATE INDEX delivery_cards_card ON delivery_cards (card_id);

-- Link tokens: only the SHA-256 of the token is stored.
CREATE TABLE delivery_tokens (
  token_hash  bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  delivery_id text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  order_id    text NOT NULL,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  consumed_at timestamptz,
  revoked_at  timestamptz,
  expired_at  timestamptz
);
CREATE INDEX delivery_tokens_delivery ON delivery_tokens (delivery_id);
CREATE INDEX delivery_tokens_order ON delivery_tokens (order_id);

-- The audit trail: who/when/how/how many, never a secret. The database itself keeps it append-only.
CREATE TABLE audit_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  order_id   text,
  event      text NOT NULL,
  actor      text NOT NULL,
  method     text,
  ip         text,
  user_agent text,
  count      integer,
  detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_order ON audit_log (order_id, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Down Migration
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE delivery_tokens;
DROP TABLE delivery_cards;
DROP TABLE deliveries;
DROP TABLE cards;
DROP TABLE orders;
