-- Up Migration

-- The retention sweep moves a card whose order outlives its key bucket to the bucket of its purge date
-- (domain/card-buckets.ts): a new ciphertext, a new blind index (an HMAC under the new bucket) and the new
-- bucket's name, for cards it finds by their order's purge date. cards_rewrap_only let a card change only
-- its ciphertext; it now also lets the retention role change blind_index and key_name, and only together
-- with a new value ciphertext (a move, never a relabelling). Every other column and role is held as before.
CREATE OR REPLACE FUNCTION cards_rewrap_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  mover text := nullif(current_setting('giftcards.retention_role', true), '');
BEGIN
  -- The schema's owner (the migrations, the tests' fixtures) is not held: it could drop the trigger anyway.
  IF current_user = (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = TG_RELID) THEN
    RETURN NEW;
  END IF;
  IF NEW.id <> OLD.id OR NEW.order_id <> OLD.order_id OR NEW.stored_at <> OLD.stored_at
     OR NEW.barcode_format IS DISTINCT FROM OLD.barcode_format THEN
    RAISE EXCEPTION 'cards: only a rewrap changes a card' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (NEW.blind_index <> OLD.blind_index OR NEW.key_name <> OLD.key_name)
     AND (mover IS NULL OR current_user <> mover OR NEW.value_ct = OLD.value_ct) THEN
    RAISE EXCEPTION 'cards: only the retention sweep moves a card to another bucket, with its ciphertext'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

DO $$
DECLARE
  retention text := nullif(current_setting('giftcards.retention_role', true), '');
BEGIN
  IF retention IS NOT NULL THEN
    EXECUTE format('GRANT UPDATE (value_ct, serial_ct, blind_index, key_name) ON cards TO %I', retention);
    EXECUTE format('GRANT SELECT (order_id, purge_after, purged_at) ON orders TO %I', retention);
  END IF;
END
$$;

-- Down Migration
DO $$
DECLARE
  retention text := nullif(current_setting('giftcards.retention_role', true), '');
BEGIN
  IF retention IS NOT NULL AND retention <> current_user THEN
    -- 1796100000000 granted UPDATE (value_ct, serial_ct) and SELECT on all of orders: those stay.
    EXECUTE format('REVOKE UPDATE (blind_index, key_name) ON cards FROM %I', retention);
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION cards_rewrap_only() RETURNS trigger LANGUAGE plpgsql AS $$
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
