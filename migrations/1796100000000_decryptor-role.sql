-- Up Migration

-- The in-app reveal shows each card once (issue 20): the time a reveal key first showed it, set by the
-- decryptor in the transaction that consumes the key and decrypts the card.
ALTER TABLE cards ADD COLUMN IF NOT EXISTS app_revealed_at timestamptz;

-- Spent stays spent: a consumed link or reveal key, and a card shown in the app, never go back, whoever
-- asks (the decryptor's role may set these columns, and must not be able to revive what it consumed).
CREATE OR REPLACE FUNCTION spent_stays_spent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  col text := TG_ARGV[0];
BEGIN
  IF (to_jsonb(OLD) ->> col) IS NOT NULL AND (to_jsonb(NEW) ->> col) IS DISTINCT FROM (to_jsonb(OLD) ->> col) THEN
    RAISE EXCEPTION '%.% is set once: it cannot be changed or cleared', TG_TABLE_NAME, col
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER delivery_tokens_consumed_once BEFORE UPDATE OF consumed_at ON delivery_tokens
  FOR EACH ROW EXECUTE FUNCTION spent_stays_spent('consumed_at');
CREATE TRIGGER reveal_keys_consumed_once BEFORE UPDATE OF consumed_at ON reveal_keys
  FOR EACH ROW EXECUTE FUNCTION spent_stays_spent('consumed_at');
CREATE TRIGGER cards_app_revealed_once BEFORE UPDATE OF app_revealed_at ON cards
  FOR EACH ROW EXECUTE FUNCTION spent_stays_spent('app_revealed_at');

-- The decryptor (decryptor/, docs/security.md "The decryptor") connects with a role of its own
-- (giftcards.decryptor_role, set on the database by the local stack; production does the same). It
-- consumes a link token or a reveal key, reads and locks that one delivery's or order's cards, and writes
-- the audit row of the reveal: nothing else. It cannot create, extend or revive a token or a key (no INSERT,
-- and UPDATE of consumed_at alone), cannot touch a card's ciphertext (UPDATE of app_revealed_at alone, which
-- is also what its row locks need), and cannot read the intake or rate-limit tables.
DO $$
DECLARE
  role text := current_setting('giftcards.decryptor_role', true);
BEGIN
  IF role IS NULL OR role = '' OR role = current_user THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT SELECT ON orders, cards, delivery_cards, delivery_tokens, reveal_keys TO %I', role);
  EXECUTE format('GRANT UPDATE (consumed_at) ON delivery_tokens, reveal_keys TO %I', role);
  EXECUTE format('GRANT UPDATE (app_revealed_at) ON cards TO %I', role);
  EXECUTE format('GRANT INSERT ON audit_log TO %I', role);
  EXECUTE format('GRANT USAGE ON SEQUENCE audit_log_id_seq TO %I', role);
END
$$;

-- Down Migration
DO $$
DECLARE
  role text := current_setting('giftcards.decryptor_role', true);
BEGIN
  IF role IS NULL OR role = '' OR role = current_user THEN
    RETURN;
  END IF;
  EXECUTE format('REVOKE ALL ON orders, cards, delivery_cards, delivery_tokens, reveal_keys, audit_log FROM %I',
                 role);
  EXECUTE format('REVOKE ALL ON SEQUENCE audit_log_id_seq FROM %I', role);
END
$$;

DROP TRIGGER IF EXISTS delivery_tokens_consumed_once ON delivery_tokens;
DROP TRIGGER IF EXISTS reveal_keys_consumed_once ON reveal_keys;
DROP TRIGGER IF EXISTS cards_app_revealed_once ON cards;
DROP FUNCTION IF EXISTS spent_stays_spent();
ALTER TABLE cards DROP COLUMN IF EXISTS app_revealed_at;
