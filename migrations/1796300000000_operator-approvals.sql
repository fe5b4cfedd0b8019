-- Up Migration

-- Dual control (DESIGN 3.6, docs/operations.md): re-delivering cards a link already revealed, and purging
-- cards not yet in the customer's hands, take two operators. The first one's request waits here until a
-- second one (another person: another token subject) approves it; the ops API then acts, once (the
-- approval is claimed by one UPDATE), and records the outcome. Who asked and who approved are the verified
-- identities of their access tokens (issuer's subject, login name, display name), never free text.
CREATE TABLE operator_approvals (
  id                  uuid PRIMARY KEY,
  order_id            text NOT NULL,
  action              text NOT NULL CHECK (action IN ('resend', 'purge')),
  requested_subject   text NOT NULL,
  requested_username  text NOT NULL,
  requested_name      text NOT NULL,
  requested_at        timestamptz NOT NULL DEFAULT now(),
  expires_at          timestamptz NOT NULL,
  approved_subject    text,
  approved_username   text,
  approved_name       text,
  approved_at         timestamptz,
  outcome             text,
  -- The database refuses one person approving their own request, whatever the code does.
  CONSTRAINT operator_approvals_two_people CHECK (approved_subject IS NULL OR approved_subject <> requested_subject)
);
CREATE INDEX operator_approvals_pending ON operator_approvals (requested_at) WHERE approved_at IS NULL;

-- An operator's identity as the ops API verified it (api/ops/actions.ts actorOf): operator:<user>, or with
-- a second operator's approval operator:<user>:approved-by:<user>.
ALTER TABLE resend_requests DROP CONSTRAINT resend_requests_requested_by_check;
ALTER TABLE resend_requests ADD CONSTRAINT resend_requests_requested_by_check CHECK (
  requested_by ~ '^caller:[A-Za-z0-9][A-Za-z0-9._-]{0,79}$'
  OR requested_by ~ '^operator:[A-Za-z0-9][A-Za-z0-9._-]{0,79}(:approved-by:[A-Za-z0-9][A-Za-z0-9._-]{0,79})?$'
  OR requested_by = 'operator');

CREATE OR REPLACE FUNCTION request_resend_as_operator(p_order_id text, p_operator text, p_kind text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  new_id bigint;
BEGIN
  IF p_operator !~ '^operator(:[A-Za-z0-9][A-Za-z0-9._-]{0,79}(:approved-by:[A-Za-z0-9][A-Za-z0-9._-]{0,79})?)?$' THEN
    RAISE EXCEPTION 'request_resend_as_operator: requested_by must be operator:<name> or operator:<name>:approved-by:<name>' USING ERRCODE = 'invalid_parameter_value';
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
REVOKE ALL ON FUNCTION request_resend_as_operator(text, text, text) FROM PUBLIC;

-- The codec endpoint's cookie sessions are gone: operators sign in at the identity provider.
DROP TABLE operator_sessions;

-- The ops API runs in the API process: operators act as the API's role, with their verified identity
-- (the approvals, an operator's resend request, a webhook's replay, the purge of an order without a
-- workflow). The CLIs no longer touch the database: their role keeps nothing but its login.
DO $$
DECLARE
  api text := nullif(current_setting('giftcards.api_role', true), '');
  cli text := nullif(current_setting('giftcards.cli_role', true), '');
  app text := nullif(current_setting('giftcards.app_role', true), '');
  split boolean := api IS NOT NULL OR cli IS NOT NULL
    OR nullif(current_setting('giftcards.worker_role', true), '') IS NOT NULL
    OR nullif(current_setting('giftcards.retention_role', true), '') IS NOT NULL;
BEGIN
  IF api IS NOT NULL THEN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON operator_approvals TO %I', api);
    EXECUTE format('GRANT UPDATE (attempts, last_status, last_attempt_at, state, delivered_at) ON webhook_events TO %I', api);
    EXECUTE format('GRANT EXECUTE ON FUNCTION request_resend_as_operator(text, text, text),
      purge_orders(text[], integer, text, text) TO %I', api);
  END IF;
  IF cli IS NOT NULL THEN
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', cli);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', cli);
    EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM %I', cli);
  END IF;
  -- One role for every component (no component roles configured): it keeps working.
  IF NOT split AND app IS NOT NULL AND app <> current_user THEN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON operator_approvals TO %I', app);
  END IF;
END
$$;

-- Down Migration
DO $$
DECLARE
  api text := nullif(current_setting('giftcards.api_role', true), '');
  cli text := nullif(current_setting('giftcards.cli_role', true), '');
BEGIN
  IF api IS NOT NULL THEN
    EXECUTE format('REVOKE EXECUTE ON FUNCTION request_resend_as_operator(text, text, text),
      purge_orders(text[], integer, text, text) FROM %I', api);
    EXECUTE format('REVOKE UPDATE (attempts, last_status, last_attempt_at, state, delivered_at) ON webhook_events FROM %I', api);
  END IF;
  IF cli IS NOT NULL THEN
    EXECUTE format('GRANT SELECT ON orders TO %I', cli);
    EXECUTE format('GRANT SELECT, UPDATE ON webhook_events TO %I', cli);
    EXECUTE format('GRANT INSERT ON audit_log TO %I', cli);
    EXECUTE format('GRANT USAGE ON SEQUENCE audit_log_id_seq TO %I', cli);
    EXECUTE format('GRANT EXECUTE ON FUNCTION purge_orders(text[], integer, text, text),
      request_resend_as_operator(text, text, text) TO %I', cli);
  END IF;
END
$$;
CREATE TABLE operator_sessions (
  session_hash bytea PRIMARY KEY CHECK (octet_length(session_hash) = 32),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz
);
CREATE INDEX operator_sessions_expires_at ON operator_sessions (expires_at);
DROP TABLE operator_approvals;
