-- Up Migration

-- The in-app reveal shows each card once (issue 20): the time a reveal key first showed it, set by the
-- decryptor in the transaction that consumes the key and decrypts the card.
ALTER TABLE cards ADD COLUMN IF NOT EXISTS app_revealed_at timestamptz;

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

ALTER TABLE cards DROP COLUMN IF EXISTS app_revealed_at;
