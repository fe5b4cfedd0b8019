/**
 * Every statement the decryptor runs, as its own database role (DECRYPTOR_DATABASE_URL, grants in
 * migrations/1796100000000_decryptor-role.sql). Each consumption is one statement: the capability is
 * claimed by a conditional UPDATE (of two concurrent requests exactly one wins), its cards are read and
 * locked, and the reveal's audit row is written, in one round trip; the caller decrypts and commits, or
 * rolls all of it back. Named statements: PostgreSQL plans these CTEs once per connection, not per reveal.
 *
 * Locks are taken in the order a purge takes them (the token, then the cards), so the two wait for each
 * other and never deadlock (domain/cards.ts purgeOrders).
 */
import type pg from 'pg';
import type { CardRow } from '../domain/cards';
import type { RetrievalMethod } from '../domain/decryptor-client';

export interface AuditContext {
  ip: string;
  userAgent?: string;
}

export type LinkClaim =
  /** No link has this hash. */
  | undefined
  | {
      orderId: string;
      deliveryId: string;
      caller: string | null;
      /** False: the link exists but was used, revoked or expired (nothing changed). */
      claimed: boolean;
      /** The delivery's stored cards, locked FOR SHARE (none once purged). */
      cards: CardRow[];
    };

const CLAIM_LINK = `
WITH known AS (
  SELECT t.order_id, t.delivery_id, (SELECT o.caller FROM orders o WHERE o.order_id = t.order_id) AS caller
    FROM delivery_tokens t WHERE t.token_hash = $1),
claimed AS (
  UPDATE delivery_tokens SET consumed_at = now()
   WHERE token_hash = $1 AND consumed_at IS NULL AND revoked_at IS NULL AND expired_at IS NULL
     AND expires_at > now()
   RETURNING order_id, delivery_id),
stored AS (
  SELECT c.id, c.value_ct, c.serial_ct, c.key_name, c.barcode_format
    FROM cards c, claimed t
   WHERE c.order_id = t.order_id
     AND c.id IN (SELECT dc.card_id FROM delivery_cards dc WHERE dc.delivery_id = t.delivery_id)
     FOR SHARE OF c),
audited AS (
  INSERT INTO audit_log (order_id, event, actor, method, ip, user_agent, count, detail)
  SELECT t.order_id, $2, 'customer', $3, $4, $5, n.count,
         jsonb_build_object('deliveryId', t.delivery_id, 'via', $6::text)
    FROM claimed t, (SELECT count(*)::int AS count FROM stored) n
   WHERE n.count > 0)
SELECT k.order_id, k.delivery_id, k.caller, EXISTS (SELECT 1 FROM claimed) AS claimed,
       coalesce((SELECT jsonb_agg(to_jsonb(s) ORDER BY s.id) FROM stored s), '[]'::jsonb) AS cards
  FROM known k`;

/**
 * Claims the link whose token hashes to `tokenHash`, inside the caller's transaction, with the REVEALED or
 * DOWNLOADED row of its retrieval (written only when there are cards to hand out).
 */
export async function claimLink(
  client: pg.PoolClient,
  tokenHash: Buffer,
  method: RetrievalMethod,
  requester: AuditContext,
): Promise<LinkClaim> {
  const { rows } = await client.query<{
    order_id: string;
    delivery_id: string;
    caller: string | null;
    claimed: boolean;
    cards: CardRow[];
  }>({
    name: 'decryptor-claim-link',
    text: CLAIM_LINK,
    values: [
      tokenHash,
      method === 'reveal' ? 'REVEALED' : 'DOWNLOADED',
      `POST /d/:token/${method}`,
      requester.ip,
      requester.userAgent?.slice(0, 512) ?? null,
      method,
    ],
  });
  const row = rows[0];
  if (!row) return undefined;
  return {
    orderId: row.order_id,
    deliveryId: row.delivery_id,
    caller: row.caller,
    claimed: row.claimed,
    cards: row.cards,
  };
}

export type KeyClaim =
  /** No usable key: unknown, spent, expired, or another order's or user's. Nothing changed. */
  | undefined
  | {
      /** The SHA-256 of the nonce the key was issued for (the caller compares it in constant time). */
      nonceHash: Buffer;
      /** Cards the order has stored at all. */
      stored: number;
      /** Cards not shown in the app before, now marked shown and locked (none when the nonce did not match). */
      cards: CardRow[];
    };

const CLAIM_KEY = `
WITH claimed AS (
  UPDATE reveal_keys SET consumed_at = now()
   WHERE key_hash = $1 AND order_id = $2 AND user_id = $3 AND consumed_at IS NULL AND expires_at > now()
   RETURNING order_id, nonce_hash, nonce_hash = $4 AS bound),
shown AS (
  UPDATE cards c SET app_revealed_at = now()
    FROM claimed k
   WHERE c.order_id = k.order_id AND k.bound AND c.app_revealed_at IS NULL
   RETURNING c.id, c.value_ct, c.serial_ct, c.key_name, c.barcode_format),
stored AS (SELECT count(*)::int AS n FROM cards c, claimed k WHERE c.order_id = k.order_id),
audited AS (
  INSERT INTO audit_log (order_id, event, actor, method, ip, user_agent, count, detail)
  SELECT k.order_id, CASE WHEN k.bound THEN 'REVEALED' ELSE 'REVEAL_KEY_BURNED' END, 'user:' || $3, $5, $6, $7,
         CASE WHEN k.bound THEN (SELECT count(*)::int FROM shown) END,
         CASE WHEN k.bound THEN jsonb_build_object('via', 'reveal-key')
              ELSE jsonb_build_object('key', $8::text, 'reason', 'presented without its client secret') END
    FROM claimed k)
SELECT k.nonce_hash, (SELECT n FROM stored) AS stored,
       coalesce((SELECT jsonb_agg(to_jsonb(s) ORDER BY s.id) FROM shown s), '[]'::jsonb) AS cards
  FROM claimed k`;

/**
 * Consumes a reveal key of this order and user, inside the caller's transaction. Presented with the nonce
 * it was issued for, it marks the order's cards not yet shown in the app as shown and writes the REVEALED
 * row; presented without it, the key is burnt (consumed, REVEAL_KEY_BURNED) and no card is touched.
 */
export async function claimRevealKey(
  client: pg.PoolClient,
  input: {
    keyHash: Buffer;
    orderId: string;
    userId: string;
    presentedNonceHash: Buffer;
    method: string;
    requester: AuditContext;
    /** The key's name in the audit trail (never the key). */
    keyRef: string;
  },
): Promise<KeyClaim> {
  const { rows } = await client.query<{ nonce_hash: Buffer; stored: number; cards: CardRow[] }>({
    name: 'decryptor-claim-key',
    text: CLAIM_KEY,
    values: [
      input.keyHash,
      input.orderId,
      input.userId,
      input.presentedNonceHash,
      input.method,
      input.requester.ip,
      input.requester.userAgent?.slice(0, 512) ?? null,
      input.keyRef,
    ],
  });
  const row = rows[0];
  if (!row) return undefined;
  return { nonceHash: row.nonce_hash, stored: row.stored, cards: row.cards };
}
