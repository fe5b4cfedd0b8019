/**
 * Turning stored card rows back into cards, for the holder of a link or the order's owner in the app.
 * Rows are read by the caller (inside its transaction); this only talks to Vault transit.
 */
import type { Transit } from '../lib/vault';

export interface Card {
  value: string;
  serial: string;
}

export interface CardRow {
  id: string;
  value_ct: string;
  serial_ct: string;
  key_name: string;
}

/**
 * One transit batch per key bucket (cards of a delivery may span months), value and serial together, with
 * the order id as derivation context: a ciphertext copied from another order does not decrypt here.
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
        cards[rowIndex] = { value: plain[2 * n]!, serial: plain[2 * n + 1]! };
      });
    }),
  );
  return cards;
}
