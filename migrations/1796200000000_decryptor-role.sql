-- Up Migration

-- The in-app reveal shows each card once (issue 20): the time a reveal key first showed it, set by the
-- decryptor in the transaction that consumes the key and decrypts the card.
ALTER TABLE cards ADD COLUMN IF NOT EXISTS app_revealed_at timestamptz;

-- Spent stays spent: a consumed reveal key, and a card shown in the app, never go back, whoever asks (the
-- decryptor's role may set these columns, and must not be able to revive what it consumed). A consumed
-- link is held by delivery_tokens_one_way (1796100000000_component-roles).
CREATE OR REPLACE FUNCTION spent_stays_spent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  col text := TG_ARGV[0];
BEGIN
  IF (to_jsonb(OLD) ->> col) IS NOT NULL AND (to_jsonb(NEW) ->> col) IS DISTINCT FROM (to_jsonb(OLD) ->> col) THEN
    RAISE EXCEPTION '%.% is set once: it cannot be changed or cleared', TG_TABLE_NAME, col
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER reveal_keys_consumed_once BEFORE UPDATE OF consumed_at ON reveal_keys
  FOR EACH ROW EXECUTE FUNCTION spent_stays_spent('consumed_at');
CREATE TRIGGER cards_app_revealed_once BEFORE UPDATE OF app_revealed_at ON cards
  FOR EACH ROW EXECUTE FUNCTION spent_stays_spent('app_revealed_at');

-- The decryptor (decryptor/, docs/security.md "The decryptor") connects with a role of its own
-- (giftcards.decryptor_role, made by scripts/db-roles.sh like every component's; deploy/postgres-init.sh in
-- compose). It consumes a link token or a reveal key, reads and locks that one delivery's or order's cards,
-- and writes the audit row of the reveal: nothing else. It cannot create, extend or revive a token or a key
-- (no INSERT, and UPDATE of consumed_at alone), cannot touch a card's ciphertext (UPDATE of app_revealed_at
-- alone, which is also what its row locks need), and cannot read the intake or rate-limit tables.
--
-- The API gives those powers up (1796100000000_component-roles granted them when it consumed links and
-- reveal keys itself): it can no longer consume a token or a key, nor read a card's ciphertext. It still
-- counts an order's cards (the intake's status: id and order_id only), reads links for the landing page and
-- issues reveal keys.
DO $$
DECLARE
  decryptor text := nullif(current_setting('giftcards.decryptor_role', true), '');
  api text := nullif(current_setting('giftcards.api_role', true), '');
BEGIN
  IF decryptor IS NOT NULL AND decryptor <> current_user THEN
    EXECUTE format('GRANT SELECT ON orders, cards, delivery_cards, delivery_tokens, reveal_keys TO %I', decryptor);
    EXECUTE format('GRANT UPDATE (consumed_at) ON delivery_tokens, reveal_keys TO %I', decryptor);
    EXECUTE format('GRANT UPDATE (app_revealed_at) ON cards TO %I', decryptor);
    EXECUTE format('GRANT INSERT ON audit_log TO %I', decryptor);
    EXECUTE format('GRANT USAGE ON SEQUENCE audit_log_id_seq TO %I', decryptor);
  END IF;
  IF api IS NOT NULL AND api <> current_user THEN
    EXECUTE format('REVOKE UPDATE (consumed_at) ON delivery_tokens, reveal_keys FROM %I', api);
    EXECUTE format('REVOKE SELECT, UPDATE ON cards FROM %I', api);
    EXECUTE format('REVOKE UPDATE (stored_at) ON cards FROM %I', api);
    EXECUTE format('GRANT SELECT (id, order_id) ON cards TO %I', api);
  END IF;
END
$$;

-- Down Migration
DO $$
DECLARE
  decryptor text := nullif(current_setting('giftcards.decryptor_role', true), '');
  api text := nullif(current_setting('giftcards.api_role', true), '');
BEGIN
  IF decryptor IS NOT NULL AND decryptor <> current_user THEN
    EXECUTE format('REVOKE ALL ON orders, cards, delivery_cards, delivery_tokens, reveal_keys, audit_log FROM %I',
                   decryptor);
    EXECUTE format('REVOKE ALL ON SEQUENCE audit_log_id_seq FROM %I', decryptor);
  END IF;
  IF api IS NOT NULL AND api <> current_user THEN
    EXECUTE format('REVOKE SELECT (id, order_id) ON cards FROM %I', api);
    EXECUTE format('GRANT SELECT, UPDATE (stored_at) ON cards TO %I', api);
    EXECUTE format('GRANT UPDATE (consumed_at) ON delivery_tokens, reveal_keys TO %I', api);
  END IF;
END
$$;

DROP TRIGGER IF EXISTS reveal_keys_consumed_once ON reveal_keys;
DROP TRIGGER IF EXISTS cards_app_revealed_once ON cards;
DROP FUNCTION IF EXISTS spent_stays_spent();
ALTER TABLE cards DROP COLUMN IF EXISTS app_revealed_at;
