/**
 * Orders as their owner sees them in the app (DESIGN 3.5). Ownership is one query by order id AND user id,
 * so an order that belongs to someone else and an order that does not exist take the same path and the
 * same time; callers answer both with the same 404.
 */

import type { PoolClient } from 'pg';
import { type Card, readCards } from '../../domain/cards';
import { type Db, withTransaction } from '../../lib/db';
import type { Transit } from '../../lib/vault';
import { audit } from '../../store/audit';
import type { Requester } from '../http/requester';

export { ownsOrder } from '../../store/orders';

export type OwnedCards = { outcome: 'shown'; cards: Card[] } | { outcome: 'unavailable'; error: unknown };

/**
 * The order's stored cards, decrypted, with a REVEALED audit row committed before they are handed out (no
 * audit row, no cards). Cards are read FOR SHARE so a concurrent purge either happened or waits.
 */
export async function revealOwnedCards(
  db: Db,
  transit: Pick<Transit, 'decryptBatch'>,
  input: { orderId: string; userId: string; requester: Requester; method: string },
): Promise<OwnedCards> {
  return withTransaction(db, async (client) => {
    const read = await readCards(client, transit, { orderId: input.orderId, userId: input.userId });
    if (read.outcome === 'none') return { outcome: 'shown', cards: [] } as const;
    if (read.outcome === 'unavailable') return read;
    await auditOwnerReveal(client, input, read.cards.length, 'in-app');
    return { outcome: 'shown', cards: read.cards } as const;
  });
}

/** The REVEALED row of a reveal to the order's owner, written in the transaction that hands the cards out. */
export async function auditOwnerReveal(
  client: PoolClient,
  input: { orderId: string; userId: string; requester: Requester; method: string },
  count: number,
  via: 'in-app' | 'reveal-key',
): Promise<void> {
  await audit(client, {
    orderId: input.orderId,
    event: 'REVEALED',
    actor: `user:${input.userId}`,
    method: input.method,
    ip: input.requester.ip,
    userAgent: input.requester.userAgent,
    count,
    detail: { via },
  });
}
