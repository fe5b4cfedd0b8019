/**
 * Stored cards: the key bucket a card is encrypted under, decrypting them for whoever may see them (the
 * decryptor does, for the holder of a link or reveal key), and deleting them for good. Card rows hold
 * Vault transit ciphertext only (DESIGN 3.1, 3.2).
 */
import type { PurgeReason, PurgeResult } from '../contracts/order';
import { type Db, withTransaction } from '../lib/db';
import { metrics } from '../lib/metrics';
import type { Transit } from '../lib/vault';
import { BARCODE_FORMATS, type BarcodeFormat } from './provider';

export interface Card {
  value: string;
  serial: string;
  /** The provider's symbology for the card, when it named one (stored in clear: it is not secret). */
  barcodeFormat?: BarcodeFormat;
}

/** The transit key of the month a card is stored in (crypto-shredding buckets, docs/security.md). */
export function cardKeyName(prefix: string, at: Date): string {
  return `${prefix}-${at.toISOString().slice(0, 7)}`;
}

/** A stored card as the decryptor reads it (decryptor/store.ts): ciphertext only. */
export interface CardRow {
  id: string | number;
  value_ct: string;
  serial_ct: string;
  key_name: string;
  barcode_format: string | null;
}

/**
 * One transit batch per key bucket (cards of a delivery may span months), value and serial together, with
 * the order id as derivation context: a ciphertext copied from another order does not decrypt here. Only
 * the decryptor holds a Vault identity that may call it (DESIGN 3.7).
 */
export async function decryptCards(
  transit: Pick<Transit, 'decryptBatch'>,
  orderId: string,
  rows: CardRow[],
): Promise<Card[]> {
  const byKey = new Map<string, number[]>();
  rows.forEach((row, index) => {
    const group = byKey.get(row.key_name) ?? [];
    group.push(index);
    byKey.set(row.key_name, group);
  });
  const cards = new Array<Card>(rows.length);
  await Promise.all(
    [...byKey].map(async ([keyName, indexes]) => {
      const items = indexes.flatMap((i) => {
        const row = rows[i]!;
        return [
          { ciphertext: row.value_ct, context: orderId },
          { ciphertext: row.serial_ct, context: orderId },
        ];
      });
      const plain = await transit.decryptBatch(keyName, items);
      indexes.forEach((rowIndex, n) => {
        const format = rows[rowIndex]!.barcode_format;
        cards[rowIndex] = {
          value: plain[2 * n]!,
          serial: plain[2 * n + 1]!,
          ...((BARCODE_FORMATS as readonly (string | null)[]).includes(format)
            ? { barcodeFormat: format as BarcodeFormat }
            : {}),
        };
      });
    }),
  );
  return cards;
}

/** Which orders a purge takes: one by id (waiting for its row), or a batch of due ones (skipping held rows). */
export type PurgeTarget = { orderId: string } | { dueBatch: number };

/**
 * Deletes the card ciphertext and link tokens of the target orders, marks them purged and writes one
 * PURGED audit row per order, set-based, in one transaction. Idempotent: an order already purged with
 * nothing left to delete is not touched again and gets no second row. The per-order purge (workflow, ops
 * CLI) and the retention sweep both come through here.
 *
 * The statements run one after the other, tokens before cards: the order a reveal takes its locks in
 * (it claims the token, then reads the cards FOR SHARE), so the two wait for each other, never deadlock.
 */
export async function purgeOrders(
  db: Db,
  target: PurgeTarget,
  reason: PurgeReason,
  actor: string,
): Promise<{ orders: number; cards: number; tokens: number }> {
  const result = await withTransaction(db, async (tx) => {
    const locked =
      'orderId' in target
        ? await tx.query<{ order_id: string }>('SELECT order_id FROM orders WHERE order_id = $1 FOR UPDATE', [
            target.orderId,
          ])
        : await tx.query<{ order_id: string }>(
            `SELECT order_id FROM orders WHERE purged_at IS NULL AND purge_after <= now()
             ORDER BY purge_after LIMIT $1 FOR UPDATE SKIP LOCKED`,
            [target.dueBatch],
          );
    const ids = locked.rows.map((r) => r.order_id);
    if (ids.length === 0) return { orders: 0, cards: 0, tokens: 0 };
    const tokens = await tx.query<{ order_id: string }>(
      'DELETE FROM delivery_tokens WHERE order_id = ANY($1) RETURNING order_id',
      [ids],
    );
    const cards = await tx.query<{ order_id: string }>(
      'DELETE FROM cards WHERE order_id = ANY($1) RETURNING order_id',
      [ids],
    );
    const count = (rows: Array<{ order_id: string }>) => {
      const n = new Map<string, number>();
      for (const r of rows) n.set(r.order_id, (n.get(r.order_id) ?? 0) + 1);
      return n;
    };
    const cardsOf = count(cards.rows);
    const tokensOf = count(tokens.rows);
    const marked = await tx.query<{ order_id: string }>(
      `UPDATE orders SET purged_at = now(), updated_at = now()
        WHERE order_id = ANY($1) AND (purged_at IS NULL OR order_id = ANY($2)) RETURNING order_id`,
      [ids, [...cardsOf.keys()]],
    );
    const purged = marked.rows.map((r) => r.order_id);
    await tx.query(
      `INSERT INTO audit_log (order_id, event, actor, method, count, detail)
       SELECT o, 'PURGED', $2, 'purge:' || $3, c, jsonb_build_object('tokensDeleted', t, 'reason', $3::text)
         FROM unnest($1::text[], $4::int[], $5::int[]) AS x(o, c, t)`,
      [
        purged,
        actor,
        reason,
        purged.map((id) => cardsOf.get(id) ?? 0),
        purged.map((id) => tokensOf.get(id) ?? 0),
      ],
    );
    return { orders: purged.length, cards: cards.rowCount ?? 0, tokens: tokens.rowCount ?? 0 };
  });
  metrics.purges.inc({ reason }, result.orders);
  return result;
}

/** One order's purge, as the workflow's activity and the ops CLI report it. */
export async function purgeOrder(
  db: Db,
  orderId: string,
  reason: PurgeReason,
  actor: string,
): Promise<PurgeResult> {
  const r = await purgeOrders(db, { orderId }, reason, actor);
  return { cardsDeleted: r.cards, tokensDeleted: r.tokens, alreadyPurged: r.orders === 0 };
}
