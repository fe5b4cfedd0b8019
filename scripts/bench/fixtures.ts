/**
 * The benchmarks' and tests' fixtures: rows seeded and removed directly, as no component may (a link, a
 * card deleted outside the purge). This is the one module outside store/ that writes the application's
 * tables, and it does so only as the schema's owner, whose password it reads from the local stack's
 * secrets (no env file holds it): never part of a component, never run against production.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { databaseUrl, repoRoot } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';

/** A role of the stack's PostgreSQL, its password from the stack's secrets, on the worker's database. */
export function stackRoleUrl(role: string, secret: string, database?: string): URL {
  const url = new URL(databaseUrl('worker'));
  url.username = role;
  url.password = readFileSync(path.join(repoRoot, '.data', 'secrets', secret), 'utf8').trim();
  if (database) url.pathname = `/${database}`;
  return url;
}

/** The schema owner on the stack's database: for fixtures only. */
export function fixtureUrl(): string {
  return stackRoleUrl('giftcards_owner', 'pg-owner-password').href;
}

export function fixturePool(max?: number): Db {
  return createPool(fixtureUrl(), max);
}

/** N delivered orders past retention, ids `<prefix>-<i>`: 3 card rows, a delivery and a token each. */
export async function seedDueOrders(db: Db, prefix: string, n: number): Promise<void> {
  if (n === 0) return;
  await db.query(
    `WITH o AS (
       INSERT INTO orders (order_id, user_id, workflow_id, provider_status, quantity, outcome, delivered_at, purge_after)
       SELECT $1 || '-' || i, 'bench', 'bench', 'FULFILLED', 3, 'DELIVERED', now() - interval '31 days',
              now() - interval '1 day'
       FROM generate_series(1, $2) AS i RETURNING order_id),
     c AS (
       INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
       SELECT order_id, order_id || ':' || k, 'vault:v1:' || md5(order_id || k), 'vault:v1:' || md5(k || order_id),
              'cards-bench' FROM o, generate_series(1, 3) AS k RETURNING id, order_id),
     d AS (
       INSERT INTO deliveries (id, order_id, kind, card_count, expires_at, sent_at)
       SELECT order_id || '#1', order_id, 'batch', 3, now() - interval '30 days', now() - interval '31 days'
       FROM o RETURNING id, order_id),
     dc AS (INSERT INTO delivery_cards (delivery_id, card_id) SELECT order_id || '#1', id FROM c)
     INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at)
     SELECT sha256(convert_to(d.id, 'UTF8')), d.id, d.order_id, now() + interval '1 day' FROM d`,
    [prefix, n],
  );
}

/** Card rows left of a run's orders (`<run>-…`). */
export async function cardsLeft(db: Db, run: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM cards WHERE order_id LIKE $1 || '-%'`,
    [run],
  );
  return rows[0]?.n ?? 0;
}

/** A run's rows, every table but the append-only audit trail; the number of orders. */
export async function deleteRunRows(db: Db, run: string): Promise<number> {
  const like = `${run}-%`;
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query('DELETE FROM delivery_tokens WHERE order_id LIKE $1', [like]);
    await client.query('DELETE FROM deliveries WHERE order_id LIKE $1', [like]); // delivery_cards cascade
    await client.query('DELETE FROM cards WHERE order_id LIKE $1', [like]);
    await client.query('DELETE FROM reveal_keys WHERE order_id LIKE $1', [like]);
    await client.query('DELETE FROM resend_requests WHERE order_id LIKE $1', [like]);
    const { rowCount } = await client.query('DELETE FROM orders WHERE order_id LIKE $1', [like]);
    await client.query('COMMIT');
    return rowCount ?? 0;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/**
 * bench:rotation's bucket: `orders` orders (ids) and the live order, then `n` card rows cycling over the
 * orders' real ciphertexts (values, serials), and the live order's card under the month's bucket.
 */
export async function seedRotationBucket(
  db: Db,
  p: {
    ids: string[];
    values: string[];
    serials: string[];
    bucket: string;
    n: number;
    live: { orderId: string; valueCt: string; serialCt: string; bucket: string };
  },
): Promise<void> {
  await db.query(
    `INSERT INTO orders (order_id, user_id, workflow_id)
     SELECT id, 'bench-rotation', id FROM unnest($1::text[]) AS id
     UNION ALL SELECT $2, 'bench-rotation', $2`,
    [p.ids, p.live.orderId],
  );
  for (let from = 0; from < p.n; from += 100_000) {
    await db.query(
      `WITH tmpl AS (SELECT k - 1 AS k, o, v, s FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS x(o, v, s, k))
       INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
       SELECT tmpl.o, 'bench:' || g, tmpl.v, tmpl.s, $4
         FROM generate_series($5::int, $6::int) AS g JOIN tmpl ON tmpl.k = g % $7`,
      [p.ids, p.values, p.serials, p.bucket, from, Math.min(p.n, from + 100_000) - 1, p.ids.length],
    );
  }
  await db.query(
    `INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name) VALUES ($1, 'bench:live', $2, $3, $4)`,
    [p.live.orderId, p.live.valueCt, p.live.serialCt, p.live.bucket],
  );
  await db.query('ANALYZE cards');
}

/** The live stream's database read: an order's card ciphertexts. */
export async function readOrderCards(db: Db, orderId: string): Promise<void> {
  await db.query('SELECT value_ct FROM cards WHERE order_id = $1', [orderId]);
}

/** Cards of a bucket not under `version`. */
export async function cardsNotUnder(db: Db, bucket: string, version: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM cards WHERE key_name = $1 AND NOT (value_ct LIKE $2 AND serial_ct LIKE $2)`,
    [bucket, `vault:v${version}:%`],
  );
  return rows[0]?.n ?? 0;
}

/** bench:rotation's rows (cards, then orders) of a run. */
export async function deleteRotationRows(db: Db, run: string): Promise<void> {
  await db.query('DELETE FROM cards WHERE order_id LIKE $1', [`${run}-%`]);
  await db.query('DELETE FROM orders WHERE order_id LIKE $1', [`${run}-%`]);
}

/**
 * bench:reveal's links: per order, `cards` cards (ciphertexts in order, value then serial), one sent batch
 * delivery of them and its token (by hash), alive for a day.
 */
export async function seedRevealLinks(
  db: Db,
  p: { orderIds: string[]; ciphertexts: string[]; cards: number; keyName: string; tokenHashes: Buffer[] },
): Promise<void> {
  await db.query(
    `WITH o AS (
       INSERT INTO orders (order_id, user_id, workflow_id, provider_status, quantity, delivered_at)
       SELECT id, 'bench', 'giftcard-' || id, 'FULFILLED', $3, now() FROM unnest($1::text[]) AS id RETURNING order_id),
     c AS (
       INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
       SELECT o.order_id, o.order_id || ':' || k, ($2::text[])[(x.n - 1) * $3 * 2 + (k - 1) * 2 + 1],
              ($2::text[])[(x.n - 1) * $3 * 2 + (k - 1) * 2 + 2], $4
         FROM unnest($1::text[]) WITH ORDINALITY AS x(id, n) JOIN o ON o.order_id = x.id,
              generate_series(1, $3) AS k
       RETURNING id, order_id),
     d AS (
       INSERT INTO deliveries (id, order_id, kind, card_count, expires_at, sent_at)
       SELECT order_id || ':batch-1', order_id, 'batch', $3, now() + interval '1 day', now() FROM o
       RETURNING id, order_id),
     dc AS (INSERT INTO delivery_cards (delivery_id, card_id) SELECT c.order_id || ':batch-1', c.id FROM c)
     INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at)
     SELECT x.hash, x.id || ':batch-1', x.id, now() + interval '1 day'
       FROM unnest($1::text[], $5::bytea[]) AS x(id, hash)`,
    [p.orderIds, p.ciphertexts, p.cards, p.keyName, p.tokenHashes],
  );
}

/** bench:reveal's rows; deliveries take their tokens and card links with them (ON DELETE CASCADE). */
export async function deleteRevealRows(db: Db, prefix: string): Promise<void> {
  await db.query('DELETE FROM deliveries WHERE order_id LIKE $1', [`${prefix}-%`]);
  await db.query('DELETE FROM cards WHERE order_id LIKE $1', [`${prefix}-%`]);
  await db.query('DELETE FROM reveal_keys WHERE order_id LIKE $1', [`${prefix}-%`]);
  await db.query('DELETE FROM orders WHERE order_id LIKE $1', [`${prefix}-%`]);
}
