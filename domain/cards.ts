/**
 * Stored cards: the key bucket a card is encrypted under, reading cards back for whoever may see them,
 * and deleting them for good. Card rows hold Vault transit ciphertext only (DESIGN 3.1, 3.2).
 */
import type pg from 'pg';
import type { PurgeReason, PurgeResult } from '../contracts/order';
import type { Db } from '../lib/db';
import { metrics } from '../lib/metrics';
import type { Transit } from '../lib/vault';
import { type CardRow, cardsForShare, type PurgeTarget, purgeOrders as purgeRows } from '../store/cards';

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

export type CardsRead =
  | { outcome: 'decrypted'; cards: Card[] }
  /** Nothing stored for this scope (purged, or never any). */
  | { outcome: 'none' }
  /** Vault could not decrypt (outage, destroyed key): the caller rolls back and says "try again". */
  | { outcome: 'unavailable'; error: unknown };

/**
 * The cards of an order (or of one of its deliveries, or only if `userId` owns the order), read FOR SHARE
 * inside the caller's transaction, so a concurrent purge either already happened or waits for it, and
 * decrypted before the caller commits. The order id filter keeps a card row wrongly linked to another
 * order's delivery out entirely.
 *
 * The Vault call stays inside the transaction on purpose: consuming the link (or the reveal key), the
 * decryption and the REVEALED audit row commit together or not at all, so a Vault failure leaves the link
 * usable and no card leaves without its audit row. The locks it holds meanwhile are the link's token row
 * and these card rows (a purge of this order waits); every Vault request gives up after
 * VAULT_REQUEST_TIMEOUT, wall-clock (lib/vault.ts), so they are held no longer than that.
 */
export async function readCards(
  client: pg.PoolClient,
  transit: Pick<Transit, 'decryptBatch'>,
  scope: { orderId: string; deliveryId?: string; userId?: string },
): Promise<CardsRead> {
  const rows = await cardsForShare(client, scope);
  if (rows.length === 0) return { outcome: 'none' };
  try {
    return { outcome: 'decrypted', cards: await decryptCards(transit, scope.orderId, rows) };
  } catch (error) {
    return { outcome: 'unavailable', error };
  }
}

/**
 * One transit batch per key bucket (cards of a delivery may span months), value and serial together, with
 * the order id as derivation context: a ciphertext copied from another order does not decrypt here.
 */
async function decryptCards(
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
