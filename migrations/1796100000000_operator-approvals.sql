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

DO $$
DECLARE
  app text := current_setting('giftcards.app_role', true);
BEGIN
  IF app IS NULL OR app = '' OR app = current_user THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE ON operator_approvals TO %I', app);
END
$$;

-- Down Migration
DROP TABLE operator_approvals;
