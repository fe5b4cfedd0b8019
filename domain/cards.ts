/**
 * Stored cards: the key bucket a card is encrypted under, decrypting them for whoever may see them (the
 * decryptor does, for the holder of a link or reveal key), and deleting them for good. Card rows hold
 * Vault transit ciphertext only (DESIGN 3.1, 3.2).
 */
import type { PurgeReason, PurgeResult } from '../contracts/order';
import type { Db } from '../lib/db';
import { metrics } from '../lib/metrics';
import type { Transit } from '../lib/vault';
import { type CardRow, type PurgeTarget, purgeOrders as purgeRows } from '../store/cards';

export type { PurgeTarget };

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

/**
 * Deletes the card ciphertext and link tokens of the target orders, marks them purged and writes one
 * PURGED audit row per order, in one transaction (the database's purge_orders(): no role deletes a card
 * any other way). Idempotent: an order already purged with nothing left to delete is not touched again and
 * gets no second row. The per-order purge (workflow, ops CLI) and the retention sweep both come through here.
 */
export async function purgeOrders(
  db: Db,
  target: PurgeTarget,
  reason: PurgeReason,
  actor: string,
): Promise<{ orders: number; cards: number; tokens: number }> {
  const result = await purgeRows(db, target, reason, actor);
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
