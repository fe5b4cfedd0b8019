/**
 * The cards' store: the only module that reads or writes the `cards` table. A card row holds Vault transit
 * ciphertext only (DESIGN 3.1, 3.2); the database lets a card change only by a rewrap (cards_rewrap_only)
 * or by being shown in the app once (app_revealed_at, set once), and go only through purge_orders(), which
 * marks the order purged and audits it in the same transaction.
 */
import type pg from 'pg';
import { type AuditEntry, auditEach, auditSelectSql, rewrappedAuditSql } from './audit';
import { cardsOfDeliverySql, claimLinkSql, claimRevealKeySql, linkByHashSql } from './deliveries';
import { answeredSql, livePurgeDatesSql } from './orders';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export interface NewCard {
  index: string;
  valueCt: string;
  serialCt: string;
  barcodeFormat: string | null;
}

/**
 * Stores the cards no earlier poll stored, with their CARDS_STORED row (`audited`, counted by how many were
 * new) and the provider's answer on the order, in one statement; how many were new and how many the order
 * has now. Only a poll that brings a barcode format writes the column, so a worker deployed before its
 * migration stores format-less cards as it always did.
 */
export async function storeCards(
  db: Queryable,
  p: { orderId: string; key: string; status: string; quantity: number; cards: NewCard[] },
  audited: AuditEntry,
): Promise<{ inserted: number; stored: number }> {
  const row = auditEach('n WHERE n.inserted > 0', audited, 7, 'n.inserted');
  const withFormats = p.cards.some((c) => c.barcodeFormat !== null);
  const formats = 8 + row.params.length;
  const insert = withFormats
    ? `INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name, barcode_format)
       SELECT $1, i, v, s, $5, f FROM unnest($2::text[], $3::text[], $4::text[], $${formats}::text[]) AS t(i, v, s, f)`
    : `INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
       SELECT $1, i, v, s, $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS t(i, v, s)`;
  // The final SELECT sees the cards as they were when the statement began, its own inserts not yet.
  const { rows } = await db.query<{ inserted: number; stored: number }>({
    name: withFormats ? 'cards-store-formats' : 'cards-store',
    text: `WITH new AS (
       ${insert}
       ON CONFLICT (order_id, blind_index) DO NOTHING RETURNING 1),
     n AS (SELECT count(*)::int AS inserted FROM new),
     audited AS (${row.sql}),
     answered AS (${answeredSql({ orderId: '$1', status: '$6', quantity: '$7' })})
     SELECT n.inserted, n.inserted + (SELECT count(*)::int FROM cards WHERE order_id = $1) AS stored FROM n`,
    values: [
      p.orderId,
      p.cards.map((c) => c.index),
      p.cards.map((c) => c.valueCt),
      p.cards.map((c) => c.serialCt),
      p.key,
      p.status,
      p.quantity,
      ...row.params,
      ...(withFormats ? [p.cards.map((c) => c.barcodeFormat)] : []),
    ],
  });
  return rows[0]!;
}

/** The blind indexes of the order's stored cards, and the key buckets they sit in. */
export async function storedIndexes(
  db: Queryable,
  orderId: string,
): Promise<{ indexes: Set<string>; buckets: Set<string> }> {
  const { rows } = await db.query<{ blind_index: string; key_name: string }>({
    name: 'cards-stored-indexes',
    text: 'SELECT blind_index, key_name FROM cards WHERE order_id = $1',
    values: [orderId],
  });
  return {
    indexes: new Set(rows.map((r) => r.blind_index)),
    buckets: new Set(rows.map((r) => r.key_name)),
  };
}

/** How many cards the order has stored (0 once purged). */
export async function storedCount(db: Queryable, orderId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'cards-stored-count',
    text: 'SELECT count(*)::int AS n FROM cards WHERE order_id = $1',
    values: [orderId],
  });
  return rows[0]?.n ?? 0;
}

/** A stored card as the decryptor reads it: ciphertext only. */
export interface CardRow {
  id: string;
  value_ct: string;
  serial_ct: string;
  key_name: string;
  barcode_format: string | null;
}

// ---------------------------------------------------------------- reveals (the decryptor, DESIGN 3.7)
// Each consumption is one statement: the capability claimed by a conditional UPDATE (of two concurrent
// requests exactly one wins), its cards read and locked, and the reveal's audit row written, in one round
// trip; the decryptor decrypts and commits, or rolls all of it back. Locks are taken in the order a purge
// takes them (the token, then the cards), so the two wait for each other and never deadlock.

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

const REVEAL_LINK = `
WITH known AS (${linkByHashSql('$1')}),
claimed AS (${claimLinkSql('$1')}),
stored AS (
  SELECT c.id, c.value_ct, c.serial_ct, c.key_name, c.barcode_format
    FROM cards c, claimed t
   WHERE c.order_id = t.order_id AND c.id IN (${cardsOfDeliverySql('t.delivery_id')})
     FOR SHARE OF c),
audited AS (${auditSelectSql(`SELECT t.order_id, $2, 'customer', $3, $4, $5, n.count,
         jsonb_build_object('deliveryId', t.delivery_id, 'via', $6::text)
    FROM claimed t, (SELECT count(*)::int AS count FROM stored) n
   WHERE n.count > 0`)})
SELECT k.order_id, k.delivery_id, k.caller, EXISTS (SELECT 1 FROM claimed) AS claimed,
       coalesce((SELECT jsonb_agg(to_jsonb(s) ORDER BY s.id) FROM stored s), '[]'::jsonb) AS cards
  FROM known k`;

/**
 * Claims the link whose token hashes to `tokenHash`, inside the caller's transaction, with its delivery's
 * cards and the REVEALED or DOWNLOADED row of its retrieval (written only when there are cards to hand out).
 */
export async function revealLink(
  client: pg.PoolClient,
  tokenHash: Buffer,
  method: 'reveal' | 'download',
  requester: AuditContext,
): Promise<LinkClaim> {
  const { rows } = await client.query<{
    order_id: string;
    delivery_id: string;
    caller: string | null;
    claimed: boolean;
    cards: CardRow[];
  }>({
    name: 'cards-reveal-link',
    text: REVEAL_LINK,
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

const REVEAL_KEY = `
WITH claimed AS (${claimRevealKeySql({ keyHash: '$1', orderId: '$2', userId: '$3', nonceHash: '$4' })}),
shown AS (
  UPDATE cards c SET app_revealed_at = now()
    FROM claimed k
   WHERE c.order_id = k.order_id AND k.bound AND c.app_revealed_at IS NULL
   RETURNING c.id, c.value_ct, c.serial_ct, c.key_name, c.barcode_format),
stored AS (SELECT count(*)::int AS n FROM cards c, claimed k WHERE c.order_id = k.order_id),
audited AS (${auditSelectSql(`SELECT k.order_id, CASE WHEN k.bound THEN 'REVEALED' ELSE 'REVEAL_KEY_BURNED' END,
         'user:' || $3, $5, $6, $7,
         CASE WHEN k.bound THEN (SELECT count(*)::int FROM shown) END,
         CASE WHEN k.bound THEN jsonb_build_object('via', 'reveal-key')
              ELSE jsonb_build_object('key', $8::text, 'reason', 'presented without its client secret') END
    FROM claimed k`)})
SELECT k.nonce_hash, (SELECT n FROM stored) AS stored,
       coalesce((SELECT jsonb_agg(to_jsonb(s) ORDER BY s.id) FROM shown s), '[]'::jsonb) AS cards
  FROM claimed k`;

/**
 * Consumes a reveal key of this order and user, inside the caller's transaction. Presented with the nonce
 * it was issued for, it marks the order's cards not yet shown in the app as shown and writes the REVEALED
 * row; presented without it, the key is burnt (consumed, REVEAL_KEY_BURNED) and no card is touched.
 */
export async function revealKey(
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
    name: 'cards-reveal-key',
    text: REVEAL_KEY,
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

/** Which orders a purge takes: one by id (waiting for its row), or a batch of due ones (skipping held rows). */
export type PurgeTarget = { orderId: string } | { dueBatch: number };

/**
 * The purge, by the database's purge_orders(): tokens then cards of the target orders deleted, the orders
 * marked purged, one PURGED audit row per order, in one transaction; idempotent.
 */
export async function purgeOrders(
  db: Queryable,
  target: PurgeTarget,
  reason: string,
  actor: string,
): Promise<{ orders: number; cards: number; tokens: number }> {
  const { rows } = await db.query<{ purged_orders: number; deleted_cards: number; deleted_tokens: number }>({
    name: 'cards-purge',
    text: 'SELECT purged_orders, deleted_cards, deleted_tokens FROM purge_orders($1, $2, $3, $4)',
    values: [
      'orderId' in target ? [target.orderId] : null,
      'dueBatch' in target ? target.dueBatch : null,
      reason,
      actor,
    ],
  });
  const r = rows[0]!;
  return { orders: r.purged_orders, cards: r.deleted_cards, tokens: r.deleted_tokens };
}

/** Which of these key buckets still hold a card. */
export async function bucketsInUse(db: Queryable, names: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ key_name: string }>({
    name: 'cards-buckets-in-use',
    text: 'SELECT DISTINCT key_name FROM cards WHERE key_name = ANY($1)',
    values: [names],
  });
  return new Set(rows.map((r) => r.key_name));
}

// ---------------------------------------------------------------- the retention sweep's rebucketing

export interface OutlivingCard {
  id: string;
  order_id: string;
  value_ct: string;
  serial_ct: string;
  key_name: string;
  purge_after: Date;
}

/**
 * Up to `limit` live cards whose month bucket (`<prefix>-YYYY-MM`) is destroyed (its month's end plus
 * `retentionMs`) before their order's purge date (domain/card-buckets.ts).
 */
export async function cardsOutlivingTheirBucket(
  db: Queryable,
  p: { prefix: string; retentionMs: number; limit: number },
): Promise<OutlivingCard[]> {
  const { rows } = await db.query<OutlivingCard>({
    name: 'cards-outliving-their-bucket',
    text: `SELECT c.id::text, c.order_id, c.value_ct, c.serial_ct, c.key_name, o.purge_after
             FROM cards c JOIN ${livePurgeDatesSql()} o ON o.order_id = c.order_id
            WHERE c.key_name LIKE $1 || '-____-__'
              AND (to_date(right(c.key_name, 7), 'YYYY-MM')::timestamp AT TIME ZONE 'UTC')
                  + interval '1 month' + make_interval(secs => $2 / 1000.0) < o.purge_after
            ORDER BY c.id
            LIMIT $3`,
    values: [p.prefix.replace(/[\\%_]/g, '\\$&'), p.retentionMs, p.limit],
  });
  return rows;
}

/**
 * Moves cards of one order to bucket `to` (new ciphertext and blind index), only those still as they were
 * read (same ciphertext: a purge or another sweep meanwhile wins), with their CARDS_REBUCKETED row
 * (`audited`, counted by how many moved) in the same statement; how many moved. The database lets only the
 * retention role change a card's bucket, and only with its ciphertext (cards_rewrap_only).
 */
export async function moveCards(
  db: Queryable,
  m: {
    ids: string[];
    wereValues: string[];
    values: string[];
    serials: string[];
    indexes: string[];
    to: string;
  },
  audited: AuditEntry,
): Promise<number> {
  const row = auditEach('n WHERE n.moved > 0', audited, 6, 'n.moved');
  const { rows } = await db.query<{ moved: number }>({
    name: 'cards-move-bucket',
    text: `WITH u AS (
       UPDATE cards c SET value_ct = t.v, serial_ct = t.s, blind_index = t.i, key_name = $6
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(id, was, v, s, i)
        WHERE c.id = t.id AND c.value_ct = t.was
        RETURNING 1),
     n AS (SELECT count(*)::int AS moved FROM u),
     audited AS (${row.sql})
     SELECT n.moved FROM n`,
    values: [m.ids, m.wereValues, m.values, m.serials, m.indexes, m.to, ...row.params],
  });
  return rows[0]?.moved ?? 0;
}

// ---------------------------------------------------------------- the key rotation's rewrap

const STALE = `(substring(c.value_ct from '^vault:v(\\d+):')::int < $2 OR substring(c.serial_ct from '^vault:v(\\d+):')::int < $2)`;

/** Cards of the bucket whose value or serial is still under a version older than `version`. */
export async function staleCards(db: Queryable, key: string, version: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'cards-stale',
    text: `SELECT count(*)::int AS n FROM cards c WHERE c.key_name = $1 AND ${STALE}`,
    values: [key, version],
  });
  return rows[0]?.n ?? 0;
}

/** How many cards a bucket holds, and its id range. */
export async function bucketBounds(
  db: Queryable,
  key: string,
): Promise<{ n: number; lo: string | null; hi: string | null }> {
  const { rows } = await db.query<{ n: number; lo: string | null; hi: string | null }>({
    name: 'cards-bucket-bounds',
    text: 'SELECT count(*)::int AS n, min(id)::text AS lo, max(id)::text AS hi FROM cards WHERE key_name = $1',
    values: [key],
  });
  return rows[0]!;
}

export interface CardPageRow {
  id: string;
  order_id: string;
  value_ct: string;
  serial_ct: string;
}

/**
 * One keyset page of a bucket, from `cursor` to `hi` (the bucket's last id at the start: newer rows are
 * encrypted under the new version anyway), ordered by the column (`c.id`: a bare `id` would be the text
 * alias). PostgreSQL walks the primary key and stops after a page when the bucket is most of the table (a
 * month of cards), and reads the bucket by cards_key_name when it is small; hiding the bucket's name from
 * it (to force the primary key) made it misjudge and scan the whole id range for every page. Measured by
 * `npm run bench:rotation`.
 */
export async function bucketPage(
  db: Queryable,
  p: { key: string; target: number; cursor: string; batchSize: number; hi: string; onlyStale: boolean },
): Promise<CardPageRow[]> {
  const { rows } = await db.query<CardPageRow>({
    name: p.onlyStale ? 'cards-page-stale' : 'cards-page',
    text: `SELECT c.id::text AS id, c.order_id, c.value_ct, c.serial_ct FROM cards c
            WHERE c.id > $3::bigint AND c.id <= $5::bigint AND c.key_name = $1
              ${p.onlyStale ? `AND ${STALE}` : 'AND $2::int IS NOT NULL'}
            ORDER BY c.id LIMIT $4`,
    values: [p.key, p.target, p.cursor, p.batchSize, p.onlyStale ? '9223372036854775807' : p.hi],
  });
  return rows;
}

/**
 * The rewrapped rows and the run's checkpoint (a KEY_REWRAPPED row) in one statement: both or neither. A
 * row changed meanwhile (its ciphertext is not the one read) is left alone; how many were rewrapped.
 */
export async function rewrapCards(
  db: Queryable,
  p: {
    rows: Array<{ id: string; oldValue: string; oldSerial: string; newValue: string; newSerial: string }>;
    key: string;
    actor: string;
    run: string;
    version: number;
    pass: number;
    firstId: string;
    lastId: string;
    read: number;
    alreadyCurrent: number;
  },
): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'cards-rewrap',
    text: `WITH x AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])
                  AS x(id, old_v, old_s, new_v, new_s)),
     u AS (
       UPDATE cards c SET value_ct = x.new_v, serial_ct = x.new_s FROM x
        WHERE c.id = x.id AND (c.key_name || '') = $6 AND c.value_ct = x.old_v AND c.serial_ct = x.old_s
        RETURNING c.id)
     ${rewrappedAuditSql('u')}`,
    values: [
      p.rows.map((r) => r.id),
      p.rows.map((r) => r.oldValue),
      p.rows.map((r) => r.oldSerial),
      p.rows.map((r) => r.newValue),
      p.rows.map((r) => r.newSerial),
      p.key,
      p.actor,
      p.run,
      p.version,
      p.pass,
      p.firstId,
      p.lastId,
      p.read,
      p.alreadyCurrent,
    ],
  });
  return rows[0]?.n ?? 0;
}

/** How many cards of the order are stored (not purged). */
export async function storedCardCount(db: Queryable, orderId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'cards-stored-count',
    text: 'SELECT count(*)::int AS n FROM cards WHERE order_id = $1',
    values: [orderId],
  });
  return rows[0]?.n ?? 0;
}
