-- Up Migration

-- The intake caller that started an order (null for orders started by the CLI or the typed client): it is
-- the only one that hears about the order (webhooks) and may look it up (GET /v1/fulfillments/:orderId).
ALTER TABLE orders ADD COLUMN caller text;

-- Every webhook event an order's workflow sent or tried to send, with its delivery state. The body is
-- what the receiver got: ids, counts and reasons, never a card, a token, a link or an email address.
CREATE TABLE webhook_events (
  event_id       text PRIMARY KEY,
  order_id       text NOT NULL REFERENCES orders (order_id),
  caller         text NOT NULL,
  sequence       integer NOT NULL,
  type           text NOT NULL,
  body           jsonb NOT NULL,
  state          text NOT NULL DEFAULT 'sending'
                 CHECK (state IN ('sending', 'delivered', 'gone', 'undeliverable')),
  attempts       integer NOT NULL DEFAULT 0,
  last_status    integer,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  delivered_at   timestamptz,
  UNIQUE (order_id, sequence)
);

DO $$
DECLARE
  app text := current_setting('giftcards.app_role', true);
BEGIN
  IF app IS NULL OR app = '' OR app = current_user THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE ON webhook_events TO %I', app);
END
$$;

-- Down Migration
DROP TABLE webhook_events;
ALTER TABLE orders DROP COLUMN caller;
