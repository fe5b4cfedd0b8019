/**
 * The deliveries' store: the only module that reads or writes `deliveries`, `delivery_cards`,
 * `delivery_tokens`, `reveal_keys` and `resend_requests`. Tokens and reveal keys are only ever handled as
 * their SHA-256 (DESIGN 3.4).
 *
 * No role inserts a delivery, its cards or its token: the database's mint_delivery() does, for the worker's
 * role alone, only for a delivery it is creating for cards no sent link covers, or for a resend an
 * authorised party asked for (requestResend: the order's caller through the API, an operator through the
 * ops CLI), which it consumes. Tokens and sent deliveries never go back (migrations: delivery_tokens_one_way,
 * deliveries_sent_once).
 */
import type pg from 'pg';
import { type AuditEntry, auditEach } from './audit';
import { callerSql, firstDeliveredSql } from './orders';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** A subquery: the ids of the cards of the delivery `deliveryId` (an expression). */
export function cardsOfDeliverySql(deliveryId: string): string {
  return `SELECT card_id FROM delivery_cards WHERE delivery_id = ${deliveryId}`;
}

// ---------------------------------------------------------------- making and sending a link (the worker)

export interface Minted {
  cardCount: number;
  expiresAt: Date;
  sentAt: Date | null;
  /** A token was stored for this attempt (the hash passed in). */
  minted: boolean;
  /** Tokens of earlier attempts revoked before this one was minted. */
  revoked: number;
  /** An earlier attempt's link was used before it was recorded as sent: no second link. */
  linkUsed: boolean;
}

/** SQLSTATE of a refusal by the database (a resend nobody asked for, a delivery of another order). */
export const REFUSED_BY_DATABASE = '42501';

/**
 * A delivery's link, by mint_delivery(): on the first attempt the delivery, its cards and (when it has any)
 * the token; on a later attempt of an unsent delivery, the earlier token revoked and this one stored.
 * Throws (SQLSTATE 42501) for a resend with no open request.
 */
export async function mintDelivery(
  db: Queryable,
  p: { deliveryId: string; orderId: string; kind: 'batch' | 'resend'; ttlMs: number; tokenHash: Buffer },
): Promise<Minted> {
  const { rows } = await db.query<{
    card_count: number;
    expires_at: Date;
    sent_at: Date | null;
    minted: boolean;
    revoked: number;
    link_used: boolean;
  }>({
    name: 'deliveries-mint',
    text: 'SELECT card_count, expires_at, sent_at, minted, revoked, link_used FROM mint_delivery($1, $2, $3, $4, $5)',
    values: [p.deliveryId, p.orderId, p.kind, p.ttlMs, p.tokenHash],
  });
  const r = rows[0]!;
  return {
    cardCount: r.card_count,
    expiresAt: r.expires_at,
    sentAt: r.sent_at,
    minted: r.minted,
    revoked: r.revoked,
    linkUsed: r.link_used,
  };
}

/**
 * The link went out: the delivery's sent time, the order's first delivery (and the retention it starts),
 * the DELIVERED row, in one statement; how long the order waited for its first link, when this was it.
 */
export async function recordSent(
  db: Queryable,
  p: { deliveryId: string; orderId: string; retentionMs: number },
  audited: AuditEntry,
): Promise<number | null> {
  const row = auditEach('delivered', audited, 3);
  const { rows } = await db.query<{ first_link_after: number | null }>({
    name: 'deliveries-sent',
    text: `WITH sent AS (UPDATE deliveries SET sent_at = now() WHERE id = $1),
     delivered AS (${firstDeliveredSql({ orderId: '$2', retentionMs: '$3' })}),
     audited AS (${row.sql})
     SELECT first_link_after FROM delivered`,
    values: [p.deliveryId, p.orderId, p.retentionMs, ...row.params],
  });
  return rows[0]?.first_link_after ?? null;
}

/** A link email refused for good: the (unsent) delivery's tokens revoked, its cards given back; how many revoked. */
export async function refuseDelivery(db: Queryable, deliveryId: string): Promise<number> {
  const { rows } = await db.query<{ revoked: number }>({
    name: 'deliveries-refuse',
    text: 'SELECT refuse_delivery($1) AS revoked',
    values: [deliveryId],
  });
  return rows[0]?.revoked ?? 0;
}

/** A notice's row (no cards, no link), made once: its sent time, null while not sent. */
export async function openNotice(db: Queryable, noticeId: string, orderId: string): Promise<Date | null> {
  const { rows } = await db.query<{ sent_at: Date | null }>({
    name: 'deliveries-open-notice',
    text: 'SELECT open_notice($1, $2) AS sent_at',
    values: [noticeId, orderId],
  });
  return rows[0]?.sent_at ?? null;
}

/** Marks a notice sent, once; whether this call did. */
export async function markNoticeSent(db: Queryable, noticeId: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'deliveries-notice-sent',
    text: 'UPDATE deliveries SET sent_at = now() WHERE id = $1 AND sent_at IS NULL',
    values: [noticeId],
  });
  return (rowCount ?? 0) > 0;
}

/** Ends the live (unused, unrevoked, unexpired) tokens of one delivery or of a whole order; how many. */
export async function endLiveTokens(
  db: Queryable,
  end: 'expired' | 'revoked',
  scope: { deliveryId: string } | { orderId: string },
): Promise<number> {
  const column = end === 'expired' ? 'expired_at' : 'revoked_at';
  const [filter, value] =
    'deliveryId' in scope ? ['delivery_id', scope.deliveryId] : ['order_id', scope.orderId];
  const { rowCount } = await db.query({
    name: `tokens-end-${end}-by-${filter}`,
    text: `UPDATE delivery_tokens SET ${column} = now()
            WHERE ${filter} = $1 AND consumed_at IS NULL AND revoked_at IS NULL AND expired_at IS NULL`,
    values: [value],
  });
  return rowCount ?? 0;
}

// ---------------------------------------------------------------- resend requests (API, ops CLI)

export type ResendKind = 'correction' | 'redeliver';

/**
 * Records who asked for a resend of the order's stored cards, for the worker's next resend delivery of the
 * order to consume (within 10 minutes). `requestedBy` "caller:<name>" (only the API's role may, only for a
 * correction, only for that caller's order) or "operator[:<name>]" (only the CLIs' role). The database
 * refuses anyone else (SQLSTATE 42501).
 */
export async function requestResend(
  db: Queryable,
  r: { orderId: string; requestedBy: string; kind: ResendKind },
): Promise<void> {
  const caller = /^caller:(.+)$/.exec(r.requestedBy)?.[1];
  if (caller !== undefined) {
    if (r.kind !== 'correction') throw new Error('a caller may only ask for a correction');
    await db.query({
      name: 'resend-request-caller',
      text: 'SELECT request_resend_as_caller($1, $2)',
      values: [r.orderId, caller],
    });
    return;
  }
  await db.query({
    name: 'resend-request-operator',
    text: 'SELECT request_resend_as_operator($1, $2, $3)',
    values: [r.orderId, r.requestedBy, r.kind],
  });
}

// ---------------------------------------------------------------- links (the delivery API)

export type LinkState = 'active' | 'consumed' | 'revoked' | 'expired';

export interface LinkRow {
  order_id: string;
  delivery_id: string;
  expires_at: Date;
  state: LinkState;
  card_count: number;
  caller: string | null;
}

/** Read-only: a link's state, for the landing page. */
export async function findLink(db: Queryable, tokenHash: Buffer): Promise<LinkRow | undefined> {
  const { rows } = await db.query<LinkRow>({
    name: 'tokens-find',
    text: `SELECT t.order_id, t.delivery_id, t.expires_at, ${callerSql('t.order_id')} AS caller,
            CASE WHEN t.consumed_at IS NOT NULL THEN 'consumed'
                 WHEN t.revoked_at IS NOT NULL THEN 'revoked'
                 WHEN t.expired_at IS NOT NULL OR t.expires_at <= now() THEN 'expired'
                 ELSE 'active' END AS state,
            (SELECT count(*)::int FROM delivery_cards dc WHERE dc.delivery_id = t.delivery_id) AS card_count
       FROM delivery_tokens t
      WHERE t.token_hash = $1`,
    values: [tokenHash],
  });
  return rows[0];
}

/**
 * Fragments of the decryptor's statements (store/cards.ts revealLink): the link whose token hashes to
 * `tokenHash` whatever its state, with its order's caller; and its claim, a single conditional UPDATE (of
 * two concurrent requests exactly one wins), returning order_id and delivery_id when it was live.
 */
export function linkByHashSql(tokenHash: string): string {
  return `SELECT t.order_id, t.delivery_id, ${callerSql('t.order_id')} AS caller
            FROM delivery_tokens t WHERE t.token_hash = ${tokenHash}`;
}

export function claimLinkSql(tokenHash: string): string {
  return `UPDATE delivery_tokens SET consumed_at = now()
           WHERE token_hash = ${tokenHash} AND consumed_at IS NULL AND revoked_at IS NULL AND expired_at IS NULL
             AND expires_at > now()
           RETURNING order_id, delivery_id`;
}

/** Token rows past their expiry (the sweep's plan). */
export async function expiredTokens(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'tokens-expired-count',
    text: 'SELECT count(*)::int AS n FROM delivery_tokens WHERE expires_at <= now()',
  });
  return rows[0]?.n ?? 0;
}

/** Token rows past their expiry serve no one: the link is dead either way. */
export async function deleteExpiredTokens(db: Queryable): Promise<number> {
  const { rowCount } = await db.query({
    name: 'tokens-expired-delete',
    text: 'DELETE FROM delivery_tokens WHERE expires_at <= now()',
  });
  return rowCount ?? 0;
}

export interface DeliveryStatusRow {
  id: string;
  kind: string;
  card_count: number;
  sent_at: Date | null;
  expires_at: Date;
  state: 'pending' | 'active' | 'retrieved' | 'revoked' | 'expired' | 'purged';
}

/** The order's deliveries with cards, oldest first, each with the state of its latest link. */
export async function deliveriesOf(db: Queryable, orderId: string): Promise<DeliveryStatusRow[]> {
  const { rows } = await db.query<DeliveryStatusRow>({
    name: 'deliveries-of-order',
    text: `SELECT d.id, d.kind, d.card_count, d.sent_at, d.expires_at,
            CASE WHEN d.sent_at IS NULL THEN 'pending'
                 WHEN t.token_hash IS NULL THEN 'purged'
                 WHEN t.consumed_at IS NOT NULL THEN 'retrieved'
                 WHEN t.revoked_at IS NOT NULL THEN 'revoked'
                 WHEN t.expired_at IS NOT NULL OR t.expires_at <= now() THEN 'expired'
                 ELSE 'active' END AS state
       FROM deliveries d
       LEFT JOIN LATERAL (SELECT * FROM delivery_tokens t WHERE t.delivery_id = d.id
                          ORDER BY t.created_at DESC LIMIT 1) t ON true
      WHERE d.order_id = $1 AND d.card_count > 0
      ORDER BY d.created_at, d.id`,
    values: [orderId],
  });
  return rows;
}

// ---------------------------------------------------------------- reveal keys (the in-app API)

/** Stores a reveal key (its hash, and the hash of the client nonce it is bound to); its expiry. */
export async function insertRevealKey(
  client: Queryable,
  k: { keyHash: Buffer; orderId: string; userId: string; nonceHash: Buffer; ttlMs: number },
): Promise<Date> {
  const { rows } = await client.query<{ expires_at: Date }>({
    name: 'reveal-keys-insert',
    text: `INSERT INTO reveal_keys (key_hash, order_id, user_id, nonce_hash, expires_at)
           VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::double precision / 1000))
           RETURNING expires_at`,
    values: [k.keyHash, k.orderId, k.userId, k.nonceHash, k.ttlMs],
  });
  return rows[0]!.expires_at;
}

/** A user's keys that expired over an hour ago go. */
export async function deleteStaleRevealKeys(client: Queryable, userId: string): Promise<void> {
  await client.query({
    name: 'reveal-keys-stale',
    text: `DELETE FROM reveal_keys WHERE user_id = $1 AND expires_at < now() - interval '1 hour'`,
    values: [userId],
  });
}

/**
 * A fragment of the decryptor's statement (store/cards.ts revealKey): consumes a live key of this order and
 * user whatever the presented nonce, returning order_id, nonce_hash and `bound` (the nonce matched).
 */
export function claimRevealKeySql(p: {
  keyHash: string;
  orderId: string;
  userId: string;
  nonceHash: string;
}): string {
  return `UPDATE reveal_keys SET consumed_at = now()
           WHERE key_hash = ${p.keyHash} AND order_id = ${p.orderId} AND user_id = ${p.userId}
             AND consumed_at IS NULL AND expires_at > now()
           RETURNING order_id, nonce_hash, nonce_hash = ${p.nonceHash} AS bound`;
}
