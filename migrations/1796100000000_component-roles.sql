-- Up Migration

-- One database role per component (docs/security.md, "One database role per component"). A link is the
-- only way a card leaves the vault, so no role writes links: a delivery, its cards and its token are made by
-- mint_delivery() alone, a function owned by the schema's owner (SECURITY DEFINER) that only the worker may
-- execute, and that mints a token only for a delivery it is creating for cards no sent link covers, or for
-- a resend an authorised party asked for (resend_requests, which the worker's role cannot write). Rows
-- that make a link work never go back for any role but the owner: a used, revoked or expired token stays
-- so, a sent delivery never changes, a card changes only its ciphertext (the key rotation's rewrap).

-- A resend of stored cards, asked for by the order's caller (through the API: a correction of a refused
-- recipient only) or by an operator by name (the ops CLI); consumed by the delivery that carries it out.
CREATE TABLE resend_requests (
  id           bigserial PRIMARY KEY,
  order_id     text NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
  requested_by text NOT NULL
               CHECK (requested_by ~ '^(caller|operator):[A-Za-z0-9][A-Za-z0-9._-]{0,79}$' OR requested_by = 'operator'),
  -- correction: the cards no link revealed, to a corrected recipient; redeliver: every stored card.
  kind         text NOT NULL CHECK (kind IN ('correction', 'redeliver')),
  requested_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  delivery_id  text,
  consumed_at  timestamptz,
  -- A re-delivery of revealed cards is an operator's decision, never a caller's (DESIGN 3.13).
  CHECK (kind = 'correction' OR requested_by NOT LIKE 'caller:%'),
  CHECK ((delivery_id IS NULL) = (consumed_at IS NULL))
);
CREATE INDEX resend_requests_open ON resend_requests (order_id, id) WHERE consumed_at IS NULL;
CREATE UNIQUE INDEX resend_requests_delivery ON resend_requests (delivery_id) WHERE delivery_id IS NOT NULL;

-- ---------------------------------------------------------------- rows that never go back
CREATE FUNCTION delivery_tokens_one_way() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The schema's owner (the migrations, the tests' fixtures) is not held: it could drop the trigger anyway.
  IF current_user = (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = TG_RELID) THEN
    RETURN NEW;
  END IF;
  IF NEW.token_hash <> OLD.token_hash OR NEW.delivery_id <> OLD.delivery_id OR NEW.order_id <> OLD.order_id
     OR NEW.expires_at <> OLD.expires_at OR NEW.created_at <> OLD.created_at
     OR (OLD.consumed_at IS NOT NULL AND NEW.consumed_at IS DISTINCT FROM OLD.consumed_at)
     OR (OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at)
     OR (OLD.expired_at IS NOT NULL AND NEW.expired_at IS DISTINCT FROM OLD.expired_at) THEN
    RAISE EXCEPTION 'delivery_tokens: a link is never re-armed or re-pointed' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER delivery_tokens_one_way BEFORE UPDATE ON delivery_tokens
  FOR EACH ROW EXECUTE FUNCTION delivery_tokens_one_way();

CREATE FUNCTION deliveries_sent_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The schema's owner (the migrations, the tests' fixtures) is not held: it could drop the trigger anyway.
  IF current_user = (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = TG_RELID) THEN
    RETURN NEW;
  END IF;
  IF NEW.id <> OLD.id OR NEW.order_id <> OLD.order_id OR NEW.kind <> OLD.kind
     OR (OLD.sent_at IS NOT NULL AND (NEW.sent_at IS DISTINCT FROM OLD.sent_at
         OR NEW.card_count <> OLD.card_count OR NEW.expires_at <> OLD.expires_at)) THEN
    RAISE EXCEPTION 'deliveries: a sent delivery never changes' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER deliveries_sent_once BEFORE UPDATE ON deliveries
  FOR EACH ROW EXECUTE FUNCTION deliveries_sent_once();

CREATE FUNCTION cards_rewrap_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The schema's owner (the migrations, the tests' fixtures) is not held: it could drop the trigger anyway.
  IF current_user = (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = TG_RELID) THEN
    RETURN NEW;
  END IF;
  IF NEW.id <> OLD.id OR NEW.order_id <> OLD.order_id OR NEW.blind_index <> OLD.blind_index
     OR NEW.key_name <> OLD.key_name OR NEW.stored_at <> OLD.stored_at
     OR NEW.barcode_format IS DISTINCT FROM OLD.barcode_format THEN
    RAISE EXCEPTION 'cards: only a rewrap changes a card' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER cards_rewrap_only BEFORE UPDATE ON cards
  FOR EACH ROW EXECUTE FUNCTION cards_rewrap_only();

-- ---------------------------------------------------------------- the only ways to make a link
-- The cards a delivery covers: a batch, those in no earlier batch (a refused one gave its cards back); a
-- resend, every stored card, or for a correction those in no delivery whose link was used.
CREATE FUNCTION delivery_candidates(p_order_id text, p_kind text, p_unrevealed_only boolean)
RETURNS SETOF bigint LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT c.id FROM cards c WHERE c.order_id = p_order_id AND (
    (p_kind = 'resend' AND (NOT p_unrevealed_only OR NOT EXISTS (
      SELECT 1 FROM delivery_cards dc JOIN delivery_tokens t ON t.delivery_id = dc.delivery_id
       WHERE dc.card_id = c.id AND t.consumed_at IS NOT NULL)))
    OR (p_kind = 'batch' AND NOT EXISTS (
      SELECT 1 FROM delivery_cards dc JOIN deliveries d ON d.id = dc.delivery_id
       WHERE dc.card_id = c.id AND d.kind = 'batch')))
  ORDER BY c.id
$$;

-- A delivery's link: on its first attempt the delivery, its cards and (when it has any) its token; on a
-- later attempt of a delivery not sent yet, the earlier attempt's token revoked and a new one minted.
-- Nothing for a sent delivery or one whose link was used; a resend only with an open request of an
-- authorised party, which it consumes (and whose kind, not the caller of this function, says which cards).
CREATE FUNCTION mint_delivery(p_id text, p_order_id text, p_kind text, p_ttl_ms double precision, p_token_hash bytea)
RETURNS TABLE (card_count integer, expires_at timestamptz, sent_at timestamptz, minted boolean, revoked integer, link_used boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  d deliveries%ROWTYPE;
  request_id bigint;
  request_kind text;
  n integer;
  r integer := 0;
BEGIN
  IF p_kind NOT IN ('batch', 'resend') THEN
    RAISE EXCEPTION 'mint_delivery: kind must be batch or resend' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_ttl_ms <= 0 OR p_ttl_ms > 400 * 86400000.0 THEN
    RAISE EXCEPTION 'mint_delivery: link lifetime out of range' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- One link-maker per order at a time; a purged order makes none.
  PERFORM 1 FROM orders o WHERE o.order_id = p_order_id AND o.purged_at IS NULL FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'mint_delivery: no such order, or purged' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT * INTO d FROM deliveries WHERE id = p_id FOR UPDATE;
  IF FOUND THEN
    IF d.order_id <> p_order_id OR d.kind <> p_kind THEN
      RAISE EXCEPTION 'mint_delivery: the delivery is another order''s or kind''s' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF d.sent_at IS NOT NULL THEN
      RETURN QUERY SELECT d.card_count, d.expires_at, d.sent_at, false, 0, false;
      RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM delivery_tokens t WHERE t.delivery_id = p_id AND t.consumed_at IS NOT NULL) THEN
      -- Its link reached someone before the attempt that sent it reported back: no second link.
      RETURN QUERY SELECT d.card_count, d.expires_at, d.sent_at, false, 0, true;
      RETURN;
    END IF;
    IF p_kind = 'resend' THEN
      SELECT q.kind INTO request_kind FROM resend_requests q WHERE q.delivery_id = p_id;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'mint_delivery: no resend request for this delivery' USING ERRCODE = 'insufficient_privilege';
      END IF;
    END IF;
    n := d.card_count;
    IF n = 0 THEN
      INSERT INTO delivery_cards (delivery_id, card_id)
        SELECT p_id, id FROM delivery_candidates(p_order_id, p_kind, coalesce(request_kind = 'correction', false)) AS id
        ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS n = ROW_COUNT;
      IF n = 0 THEN
        RETURN QUERY SELECT 0, d.expires_at, d.sent_at, false, 0, false;
        RETURN;
      END IF;
    END IF;
    UPDATE delivery_tokens t SET revoked_at = now()
     WHERE t.delivery_id = p_id AND t.consumed_at IS NULL AND t.revoked_at IS NULL;
    GET DIAGNOSTICS r = ROW_COUNT;
    UPDATE deliveries x SET card_count = n, expires_at = now() + make_interval(secs => p_ttl_ms / 1000)
     WHERE x.id = p_id RETURNING * INTO d;
  ELSE
    IF p_kind = 'resend' THEN
      SELECT o.id, o.kind INTO request_id, request_kind FROM resend_requests o
       WHERE o.order_id = p_order_id AND o.consumed_at IS NULL AND o.expires_at > now()
       ORDER BY o.id LIMIT 1 FOR UPDATE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'mint_delivery: a resend needs a request by the order''s caller or an operator'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
    END IF;
    -- No card to cover: no row, no token, and the request stays open.
    IF NOT EXISTS (SELECT 1 FROM delivery_candidates(p_order_id, p_kind, coalesce(request_kind = 'correction', false))) THEN
      RETURN QUERY SELECT 0, now() + make_interval(secs => p_ttl_ms / 1000), NULL::timestamptz, false, 0, false;
      RETURN;
    END IF;
    IF p_kind = 'resend' THEN
      UPDATE resend_requests q SET delivery_id = p_id, consumed_at = now() WHERE q.id = request_id;
    END IF;
    INSERT INTO deliveries (id, order_id, kind, card_count, expires_at)
      VALUES (p_id, p_order_id, p_kind, 0, now() + make_interval(secs => p_ttl_ms / 1000));
    INSERT INTO delivery_cards (delivery_id, card_id)
      SELECT p_id, id FROM delivery_candidates(p_order_id, p_kind, coalesce(request_kind = 'correction', false)) AS id;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE deliveries x SET card_count = n WHERE x.id = p_id RETURNING * INTO d;
  END IF;
  INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at)
    VALUES (p_token_hash, p_id, p_order_id, d.expires_at);
  RETURN QUERY SELECT d.card_count, d.expires_at, d.sent_at, true, r, false;
END
$$;

-- A link email refused for good: the delivery (not sent) gives its cards back and its tokens are revoked.
CREATE FUNCTION refuse_delivery(p_id text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  d deliveries%ROWTYPE;
  r integer;
BEGIN
  SELECT * INTO d FROM deliveries WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR d.sent_at IS NOT NULL OR d.kind = 'notice'
     OR EXISTS (SELECT 1 FROM delivery_tokens t WHERE t.delivery_id = p_id AND t.consumed_at IS NOT NULL) THEN
    RAISE EXCEPTION 'refuse_delivery: only an unsent, unused delivery can be refused' USING ERRCODE = 'insufficient_privilege';
  END IF;
  UPDATE delivery_tokens t SET revoked_at = now()
   WHERE t.delivery_id = p_id AND t.consumed_at IS NULL AND t.revoked_at IS NULL;
  GET DIAGNOSTICS r = ROW_COUNT;
  DELETE FROM delivery_cards WHERE delivery_id = p_id;
  UPDATE deliveries SET card_count = 0 WHERE id = p_id;
  RETURN r;
END
$$;

-- A notice's row (no cards, no token): its sent time, null until sent, so a retry sends nothing twice.
CREATE FUNCTION open_notice(p_id text, p_order_id text) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  s timestamptz;
BEGIN
  INSERT INTO deliveries (id, order_id, kind, card_count, expires_at)
    VALUES (p_id, p_order_id, 'notice', 0, now()) ON CONFLICT (id) DO NOTHING;
  SELECT d.sent_at INTO s FROM deliveries d WHERE d.id = p_id AND d.order_id = p_order_id AND d.kind = 'notice';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'open_notice: % is not a notice of this order', p_id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN s;
END
$$;

-- The resend requests: one function per authorised party, each executable by its component only.
CREATE FUNCTION request_resend_as_caller(p_order_id text, p_caller text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  new_id bigint;
BEGIN
  PERFORM 1 FROM orders o WHERE o.order_id = p_order_id AND o.caller = p_caller AND o.purged_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'request_resend_as_caller: not this caller''s order' USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO resend_requests (order_id, requested_by, kind, expires_at)
    VALUES (p_order_id, 'caller:' || p_caller, 'correction', now() + interval '10 minutes') RETURNING resend_requests.id INTO new_id;
  RETURN new_id;
END
$$;

CREATE FUNCTION request_resend_as_operator(p_order_id text, p_operator text, p_kind text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  new_id bigint;
BEGIN
  IF p_operator !~ '^operator(:[A-Za-z0-9][A-Za-z0-9._-]{0,79})?$' THEN
    RAISE EXCEPTION 'request_resend_as_operator: requested_by must be operator:<name>' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM 1 FROM orders o WHERE o.order_id = p_order_id AND o.purged_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'request_resend_as_operator: no such order, or purged' USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO resend_requests (order_id, requested_by, kind, expires_at)
    VALUES (p_order_id, p_operator, p_kind, now() + interval '10 minutes') RETURNING resend_requests.id INTO new_id;
  RETURN new_id;
END
$$;

-- The purge (workflow, retention sweep, ops CLI): tokens, then cards (the order a reveal takes its locks
-- in), the order marked purged, one PURGED audit row per order. No role deletes a card but through here,
-- so no card goes without its audit row.
CREATE FUNCTION purge_orders(p_ids text[], p_due_batch integer, p_reason text, p_actor text)
RETURNS TABLE (purged_orders integer, deleted_cards integer, deleted_tokens integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  ids text[];
  token_orders text[];
  card_orders text[];
  n_orders integer;
BEGIN
  IF p_reason NOT IN ('retention', 'retrieved', 'cancelled', 'operator', 'sweep') THEN
    RAISE EXCEPTION 'purge_orders: unknown reason' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_ids IS NOT NULL THEN
    SELECT coalesce(array_agg(o.order_id), '{}') INTO ids
      FROM (SELECT x.order_id FROM orders x WHERE x.order_id = ANY(p_ids) ORDER BY x.order_id FOR UPDATE) o;
  ELSE
    SELECT coalesce(array_agg(o.order_id), '{}') INTO ids
      FROM (SELECT x.order_id FROM orders x WHERE x.purged_at IS NULL AND x.purge_after <= now()
             ORDER BY x.purge_after LIMIT p_due_batch FOR UPDATE SKIP LOCKED) o;
  END IF;
  IF cardinality(ids) = 0 THEN
    RETURN QUERY SELECT 0, 0, 0;
    RETURN;
  END IF;
  WITH t AS (DELETE FROM delivery_tokens WHERE order_id = ANY(ids) RETURNING order_id)
    SELECT coalesce(array_agg(t.order_id), '{}') INTO token_orders FROM t;
  WITH c AS (DELETE FROM cards WHERE order_id = ANY(ids) RETURNING order_id)
    SELECT coalesce(array_agg(c.order_id), '{}') INTO card_orders FROM c;
  -- Per-order counts by grouping (never an array searched per order: a batch is hundreds of orders).
  WITH c AS (SELECT k AS order_id, count(*)::int AS n FROM unnest(card_orders) k GROUP BY k),
  t AS (SELECT k AS order_id, count(*)::int AS n FROM unnest(token_orders) k GROUP BY k),
  marked AS (
    UPDATE orders x SET purged_at = now(), updated_at = now()
     WHERE x.order_id = ANY(ids) AND (x.purged_at IS NULL OR x.order_id IN (SELECT c.order_id FROM c))
     RETURNING x.order_id),
  audited AS (
    INSERT INTO audit_log (order_id, event, actor, method, count, detail)
    SELECT m.order_id, 'PURGED', p_actor, 'purge:' || p_reason, coalesce(c.n, 0),
           jsonb_build_object('tokensDeleted', coalesce(t.n, 0), 'reason', p_reason)
      FROM marked m LEFT JOIN c ON c.order_id = m.order_id LEFT JOIN t ON t.order_id = m.order_id
    RETURNING 1)
  SELECT count(*)::int INTO n_orders FROM audited;
  RETURN QUERY SELECT n_orders, cardinality(card_orders), cardinality(token_orders);
END
$$;

-- Functions are executable by PUBLIC unless revoked: these by their grantees only.
REVOKE ALL ON FUNCTION mint_delivery(text, text, text, double precision, bytea), refuse_delivery(text),
  open_notice(text, text), request_resend_as_caller(text, text), request_resend_as_operator(text, text, text),
  purge_orders(text[], integer, text, text), delivery_candidates(text, text, boolean) FROM PUBLIC;

-- ---------------------------------------------------------------- grants, keyed by database settings
-- giftcards.worker_role, .api_role, .retention_role, .cli_role: set on the database (the local stack's
-- scripts/db-roles.sh; any external database the same way) before this migration runs. With them, each
-- component's role gets what its work needs and the shared giftcards.app_role loses everything. Without
-- them, the one app role (if any) keeps its rows, minus every way to write a link or delete a card.
DO $$
DECLARE
  worker text := nullif(current_setting('giftcards.worker_role', true), '');
  api text := nullif(current_setting('giftcards.api_role', true), '');
  retention text := nullif(current_setting('giftcards.retention_role', true), '');
  cli text := nullif(current_setting('giftcards.cli_role', true), '');
  app text := nullif(current_setting('giftcards.app_role', true), '');
  split boolean := worker IS NOT NULL OR api IS NOT NULL OR retention IS NOT NULL OR cli IS NOT NULL;
  r text;
BEGIN
  IF app IS NOT NULL AND app <> current_user THEN
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON deliveries, delivery_cards, delivery_tokens FROM %I', app);
    EXECUTE format('REVOKE DELETE ON cards FROM %I', app);
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %I', app);
    IF split THEN
      EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', app);
      EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', app);
      EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM %I', app);
    ELSE
      -- One role for every component: it keeps working, through the functions.
      EXECUTE format('GRANT SELECT ON resend_requests TO %I', app);
      EXECUTE format('GRANT UPDATE (sent_at) ON deliveries TO %I', app);
      EXECUTE format('GRANT UPDATE (consumed_at, revoked_at, expired_at) ON delivery_tokens TO %I', app);
      EXECUTE format('GRANT DELETE ON delivery_tokens TO %I', app);
      EXECUTE format('GRANT EXECUTE ON FUNCTION mint_delivery(text, text, text, double precision, bytea),
        refuse_delivery(text), open_notice(text, text), request_resend_as_caller(text, text),
        request_resend_as_operator(text, text, text), purge_orders(text[], integer, text, text) TO %I', app);
    END IF;
  END IF;
  FOREACH r IN ARRAY ARRAY[worker, api, retention, cli] LOOP
    IF r IS NOT NULL AND r = current_user THEN
      RAISE EXCEPTION 'a component role must not be the migrations'' role (%)', r;
    END IF;
  END LOOP;

  IF worker IS NOT NULL THEN
    -- The fulfillment worker: orders it registers and finishes, cards it stores (never reads back in
    -- clear: Vault holds that power elsewhere), links through mint_delivery only, webhooks it sends.
    EXECUTE format('GRANT SELECT, INSERT ON orders TO %I', worker);
    EXECUTE format('GRANT UPDATE (provider_status, quantity, outcome, failure_reason, updated_at, delivered_at,
      purge_after, workflow_first_run_id) ON orders TO %I', worker);
    EXECUTE format('GRANT SELECT, INSERT ON cards TO %I', worker);
    EXECUTE format('GRANT SELECT ON deliveries, delivery_cards, delivery_tokens TO %I', worker);
    EXECUTE format('GRANT UPDATE (sent_at) ON deliveries TO %I', worker);
    EXECUTE format('GRANT UPDATE (revoked_at, expired_at) ON delivery_tokens TO %I', worker);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON webhook_events TO %I', worker);
    EXECUTE format('GRANT INSERT ON audit_log TO %I', worker);
    EXECUTE format('GRANT USAGE ON SEQUENCE cards_id_seq, audit_log_id_seq TO %I', worker);
    EXECUTE format('GRANT EXECUTE ON FUNCTION mint_delivery(text, text, text, double precision, bytea),
      refuse_delivery(text), open_notice(text, text), purge_orders(text[], integer, text, text) TO %I', worker);
  END IF;

  IF api IS NOT NULL THEN
    -- The API: reads what its routes show, consumes links and reveal keys (FOR SHARE on cards needs an
    -- UPDATE privilege on a column; cards_rewrap_only refuses any change but a rewrap's), binds intake
    -- requests, keeps its rate limits and operator sessions, asks for a caller's correction.
    EXECUTE format('GRANT SELECT ON orders, deliveries, delivery_cards, webhook_events TO %I', api);
    EXECUTE format('GRANT SELECT, UPDATE (stored_at) ON cards TO %I', api);
    EXECUTE format('GRANT SELECT, UPDATE (consumed_at) ON delivery_tokens TO %I', api);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON reveal_keys TO %I', api);
    EXECUTE format('GRANT UPDATE (consumed_at) ON reveal_keys TO %I', api);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON intake_requests, intake_signatures TO %I', api);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_counters, operator_sessions TO %I', api);
    EXECUTE format('GRANT INSERT ON audit_log TO %I', api);
    EXECUTE format('GRANT USAGE ON SEQUENCE audit_log_id_seq TO %I', api);
    EXECUTE format('GRANT EXECUTE ON FUNCTION request_resend_as_caller(text, text) TO %I', api);
  END IF;

  IF retention IS NOT NULL THEN
    -- The retention worker: the sweep (purge_orders, expired tokens), the key buckets it destroys, the
    -- fleet's gauges, the key rotation.
    EXECUTE format('GRANT SELECT ON orders, cards, delivery_tokens, audit_log TO %I', retention);
    -- keys:rotate runs as the retention worker: the rewrap changes a card's ciphertext, nothing else.
    EXECUTE format('GRANT UPDATE (value_ct, serial_ct) ON cards TO %I', retention);
    EXECUTE format('GRANT DELETE ON delivery_tokens TO %I', retention);
    EXECUTE format('GRANT INSERT ON audit_log TO %I', retention);
    EXECUTE format('GRANT USAGE ON SEQUENCE audit_log_id_seq TO %I', retention);
    EXECUTE format('GRANT EXECUTE ON FUNCTION purge_orders(text[], integer, text, text) TO %I', retention);
  END IF;

  IF cli IS NOT NULL THEN
    -- The CLIs (ops, order, webhooks): the order's workflow, the purge, a webhook's replay, an operator's
    -- resend request.
    EXECUTE format('GRANT SELECT ON orders TO %I', cli);
    EXECUTE format('GRANT SELECT, UPDATE ON webhook_events TO %I', cli);
    EXECUTE format('GRANT INSERT ON audit_log TO %I', cli);
    EXECUTE format('GRANT USAGE ON SEQUENCE audit_log_id_seq TO %I', cli);
    EXECUTE format('GRANT EXECUTE ON FUNCTION purge_orders(text[], integer, text, text),
      request_resend_as_operator(text, text, text) TO %I', cli);
  END IF;

  FOREACH r IN ARRAY ARRAY[worker, api, retention, cli] LOOP
    IF r IS NOT NULL THEN
      EXECUTE format('GRANT SELECT ON pgmigrations TO %I', r);
    END IF;
  END LOOP;
END
$$;

-- Down Migration
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY[current_setting('giftcards.worker_role', true), current_setting('giftcards.api_role', true),
                           current_setting('giftcards.retention_role', true), current_setting('giftcards.cli_role', true)] LOOP
    IF r IS NOT NULL AND r <> '' AND r <> current_user THEN
      EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', r);
      EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', r);
      EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM %I', r);
    END IF;
  END LOOP;
END
$$;
DROP FUNCTION purge_orders(text[], integer, text, text);
DROP FUNCTION request_resend_as_operator(text, text, text);
DROP FUNCTION request_resend_as_caller(text, text);
DROP FUNCTION open_notice(text, text);
DROP FUNCTION refuse_delivery(text);
DROP FUNCTION mint_delivery(text, text, text, double precision, bytea);
DROP FUNCTION delivery_candidates(text, text, boolean);
DROP TRIGGER cards_rewrap_only ON cards;
DROP FUNCTION cards_rewrap_only();
DROP TRIGGER deliveries_sent_once ON deliveries;
DROP FUNCTION deliveries_sent_once();
DROP TRIGGER delivery_tokens_one_way ON delivery_tokens;
DROP FUNCTION delivery_tokens_one_way();
DROP TABLE resend_requests;
