/**
 * The cards' store: the only module that reads or writes the `cards` table. A card row holds Vault transit
 * ciphertext only (DESIGN 3.1, 3.2); the database lets a card change only by a rewrap (cards_rewrap_only)
 * and go only through purge_orders(), which marks the order purged and audits it in the same transaction.
 */
import type pg from 'pg';
import { type AuditEntry, auditEach, rewrappedAuditSql } from './audit';
import { cardsOfDeliverySql } from './deliveries';
import { answeredSql, livePurgeDatesSql, ownedBySql } from './orders';

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

export interface CardRow {
  id: string;
  value_ct: string;
  serial_ct: string;
  key_name: string;
  barcode_format: string | null;
}

/**
 * The cards of an order (or of one of its deliveries, or only if `userId` owns the order), read FOR SHARE
 * inside the caller's transaction, so a concurrent purge either already happened or waits for it. The
 * order id filter keeps a card row wrongly linked to another order's delivery out entirely.
 */
export async function cardsForShare(
  client: pg.PoolClient,
  scope: { orderId: string; deliveryId?: string; userId?: string },
): Promise<CardRow[]> {
  const { rows } = await client.query<CardRow>({
    name: 'cards-for-share',
    // to_jsonb(c): the column may not exist yet while the API is deployed ahead of its migration.
    text: `SELECT c.id, c.value_ct, c.serial_ct, c.key_name, to_jsonb(c)->>'barcode_format' AS barcode_format
       FROM cards c
      WHERE c.order_id = $1
        AND ($2::text IS NULL OR c.id IN (${cardsOfDeliverySql('$2')}))
        AND ($3::text IS NULL OR ${ownedBySql('c.order_id', '$3')})
      ORDER BY c.id
        FOR SHARE OF c`,
    values: [scope.orderId, scope.deliveryId ?? null, scope.userId ?? null],
  });
  return rows;
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
