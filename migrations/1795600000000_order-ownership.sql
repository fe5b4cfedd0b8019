-- Up Migration

-- An order belongs to one workflow (DESIGN 3.10). orders.workflow_id already names the workflow that
-- registered the order; with it goes the first run of that workflow's chain, which continue-as-new,
-- retries and resets keep and which only the Temporal server assigns. Every activity of an order compares
-- its own workflow (from Temporal) with both: a workflow started under another id, or a new chain under
-- the same id (the order's workflow terminated and started again with other input), changes nothing.
-- Null on orders registered before this column: their own workflow's next step records it.
ALTER TABLE orders ADD COLUMN workflow_first_run_id text;

-- The intake's first writer of each order id: the caller and a keyed hash (HMAC-SHA256 under the API's
-- INTAKE_REQUEST_KEY) of the canonical request. Written in the transaction that starts the workflow, so it
-- exists before the workflow does and a concurrent request for the same order id waits for it. The same
-- caller with the same request is idempotent; anything else is refused. The hash is keyed because the
-- request holds the customer's email address: a plain hash would let anyone who reads this table confirm
-- a guessed address.
CREATE TABLE intake_requests (
  order_id     text PRIMARY KEY,
  caller       text NOT NULL,
  request_hash bytea NOT NULL CHECK (octet_length(request_hash) = 32),
  created_at   timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE
  app text := current_setting('giftcards.app_role', true);
BEGIN
  IF app IS NULL OR app = '' OR app = current_user THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT SELECT, INSERT, DELETE ON intake_requests TO %I', app);
END
$$;

-- Down Migration
DROP TABLE intake_requests;
ALTER TABLE orders DROP COLUMN workflow_first_run_id;
