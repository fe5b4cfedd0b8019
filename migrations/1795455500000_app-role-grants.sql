-- Up Migration

-- Where the apps connect with a role of their own (giftcards.app_role, set on the database by the local
-- stack; production does the same), that role gets the rows it works with and nothing else: no
-- ownership, so it cannot ALTER a table or switch off the audit log's triggers, and on the audit log only
-- INSERT and SELECT. Without the setting (one role for everything) there is nothing to grant.
DO $$
DECLARE
  app text := current_setting('giftcards.app_role', true);
BEGIN
  IF app IS NULL OR app = '' OR app = current_user THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON orders, cards, deliveries, delivery_cards,
                  delivery_tokens, reveal_keys, intake_signatures TO %I', app);
  EXECUTE format('GRANT SELECT, INSERT ON audit_log TO %I', app);
  EXECUTE format('GRANT SELECT ON pgmigrations TO %I', app);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', app);
END
$$;

-- Down Migration
DO $$
DECLARE
  app text := current_setting('giftcards.app_role', true);
BEGIN
  IF app IS NULL OR app = '' OR app = current_user THEN
    RETURN;
  END IF;
  EXECUTE format('REVOKE ALL ON orders, cards, deliveries, delivery_cards, delivery_tokens, reveal_keys,
                  intake_signatures, audit_log, pgmigrations FROM %I', app);
  EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', app);
END
$$;
