/**
 * Crypto-shredding as promised (issue 20 item 6): every card lives in a key bucket that is destroyed no
 * later than it must be, and its blind index dies with it.
 *
 * A bucket is a month's transit key (`<prefix>-YYYY-MM`, the month a card was stored in: cardKeyName);
 * the retention sweep destroys it once the month plus the longest default retention is over and no live
 * card is left in it (activities/retention.ts). A card whose order keeps it longer than that (a retention
 * extended by an operator, or a longer retention asked at the start) would keep its whole month's bucket
 * alive, and with it every purged card of that month that a backup still holds. So the sweep moves such
 * cards to the bucket whose destruction comes right after their purge date (`bucketForPurge`): decrypted
 * and encrypted again under the order's context, their blind index computed again under the new bucket,
 * by the retention worker's role alone (scripts/vault-policies/retention.hcl), one CARDS_REBUCKETED audit
 * row per order and move.
 *
 * The blind index (what the collect step deduplicates a provider's cards by) is an HMAC under the card's
 * own bucket key (`blindIndexInput`, version INDEX_KEY_VERSION): once the bucket is destroyed, nobody can
 * compute the index of a guessed code to match a stored one, and a key created again under the same name
 * gives other indexes.
 */
import type { Db } from '../lib/db';
import type { Transit } from '../lib/vault';
import { cardsOutlivingTheirBucket, moveCards, type OutlivingCard } from '../store/cards';
import { cardKeyName } from './cards';

/** The bucket key version blind indexes are computed with: a rotation (keys:rotate) does not change them. */
export const INDEX_KEY_VERSION = 1;

/** What the blind index is an HMAC of: the order id too, so one code yields other indexes in two orders. */
export function blindIndexInput(orderId: string, value: string): string {
  return `${orderId}\u0000${value}`;
}

/** Month buckets: `<prefix>-YYYY-MM`; the bucket ends when its month does (null: not a bucket name). */
export function bucketEnd(prefix: string, name: string): Date | null {
  if (!name.startsWith(`${prefix}-`)) return null;
  const m = name.slice(prefix.length + 1).match(/^(\d{4})-(\d{2})$/);
  if (!m) return null;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]), 1));
}

/**
 * The bucket a card purged at `purgeAt` belongs in: the earliest month whose bucket is destroyed (its end
 * plus `retentionMs`) no sooner than the purge. A card stored now with the default retention is already
 * in it (this month's).
 */
export function bucketForPurge(prefix: string, purgeAt: Date, retentionMs: number): string {
  return cardKeyName(prefix, new Date(purgeAt.getTime() - retentionMs));
}

export interface RebucketDeps {
  db: Db;
  /** The retention worker's: the one role that may decrypt a card to move it (and create its bucket). */
  transit: Pick<Transit, 'decryptBatch' | 'encryptBatch' | 'hmacBatch'>;
  /** Creates a bucket key that does not exist yet (a no-op for one that does). */
  createBucket(name: string): Promise<void>;
  prefix: string;
  retentionMs: number;
}

export interface RebucketResult {
  cards: number;
  moves: Array<{ orderId: string; from: string; to: string; cards: number }>;
}

/**
 * Moves up to `limit` cards whose order outlives their bucket into the bucket of their purge date.
 * Plaintext exists only in this function's memory. No transaction waits on Vault: the cards are read,
 * moved in Vault, then each order's move is written with its audit row in one statement, and only for
 * rows still as they were read (a purge or another sweep meanwhile wins; the next sweep looks again).
 */
export async function rebucketCards(deps: RebucketDeps, limit: number): Promise<RebucketResult> {
  const rows = await cardsOutlivingTheirBucket(deps.db, {
    prefix: deps.prefix,
    retentionMs: deps.retentionMs,
    limit,
  });
  const groups = new Map<string, OutlivingCard[]>(); // per order, from and to
  for (const row of rows) {
    const to = bucketForPurge(deps.prefix, row.purge_after, deps.retentionMs);
    const group = `${row.order_id}\u0000${row.key_name}\u0000${to}`;
    groups.set(group, [...(groups.get(group) ?? []), row]);
  }
  const moves: RebucketResult['moves'] = [];
  for (const [group, cards] of groups) {
    const [orderId, from, to] = group.split('\u0000') as [string, string, string];
    await deps.createBucket(to);
    const plain = await deps.transit.decryptBatch(
      from,
      cards.flatMap((c) => [
        { ciphertext: c.value_ct, context: orderId },
        { ciphertext: c.serial_ct, context: orderId },
      ]),
    );
    const [sealed, indexes] = await Promise.all([
      deps.transit.encryptBatch(
        to,
        plain.map((plaintext) => ({ plaintext, context: orderId })),
      ),
      deps.transit.hmacBatch(
        to,
        cards.map((_, i) => blindIndexInput(orderId, plain[2 * i]!)),
        INDEX_KEY_VERSION,
      ),
    ]);
    const moved = await moveCards(
      deps.db,
      {
        ids: cards.map((c) => c.id),
        wereValues: cards.map((c) => c.value_ct),
        values: cards.map((_, i) => sealed[2 * i]!),
        serials: cards.map((_, i) => sealed[2 * i + 1]!),
        indexes,
        to,
      },
      {
        orderId,
        event: 'CARDS_REBUCKETED',
        actor: 'retention',
        method: 'activity:rebucketCards',
        detail: { from, to },
      },
    );
    if (moved > 0) moves.push({ orderId, from, to, cards: moved });
  }
  return { cards: moves.reduce((n, m) => n + m.cards, 0), moves };
}
