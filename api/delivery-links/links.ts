/**
 * Delivery links in the database: looking one up for the landing page, and consuming one to hand out its
 * cards. Tokens are only ever handled as their SHA-256 (DESIGN 3.4).
 *
 * Consumption is one transaction: the token row is claimed by a single conditional UPDATE (so of two
 * concurrent requests exactly one wins), the delivery's cards are read FOR SHARE (a concurrent purge's
 * DELETE either already happened or waits for us), and the cards are decrypted before COMMIT, so a Vault
 * failure rolls the claim back and the link stays usable.
 */
import type pg from 'pg';
import { type Card, readCards } from '../../domain/cards';
import { type Db, Rollback, withTransaction } from '../../lib/db';
import { metrics } from '../../lib/metrics';
import { hashToken } from '../../lib/tokens';
import type { Transit } from '../../lib/vault';
import { audit } from '../../store/audit';
import { claimLink, findLink as findLinkRow, type LinkState, linkByHash } from '../../store/deliveries';
import type { Requester } from '../http/requester';

export type { LinkState };

export interface LinkView {
  orderId: string;
  deliveryId: string;
  expiresAt: Date;
  state: LinkState;
  /** Cards still stored for the delivery (0 once purged). */
  cardCount: number;
  /** The intake caller that started the order (its brand on the pages); null from the CLI. */
  caller: string | null;
}

export type RetrievalMethod = 'reveal' | 'download';

type Known = { orderId: string; deliveryId: string; caller: string | null };

export type Retrieval =
  | ({ outcome: 'retrieved'; cards: Card[] } & Known)
  | { outcome: 'unknown'; caller?: undefined }
  | ({ outcome: 'gone' } & Known)
  | ({ outcome: 'purged' } & Known)
  | ({ outcome: 'unavailable'; error: unknown } & Known);

/** Read-only: the landing page must never consume a link (mail scanners and previews fetch it). */
export async function findLink(db: Db, token: string): Promise<LinkView | undefined> {
  const row = await findLinkRow(db, hashToken(token));
  if (!row) return undefined;
  return {
    orderId: row.order_id,
    deliveryId: row.delivery_id,
    expiresAt: row.expires_at,
    state: row.state,
    cardCount: row.card_count,
    caller: row.caller,
  };
}

export async function consumeLink(
  db: Db,
  transit: Pick<Transit, 'decryptBatch'>,
  token: string,
  method: RetrievalMethod,
  requester: Requester,
): Promise<Retrieval> {
  const tokenHash = hashToken(token);
  const retrieval = await withTransaction(db, async (client): Promise<Retrieval> => {
    const link = await claimLink(client, tokenHash);
    if (!link) return classifyUnclaimed(client, tokenHash);
    const { order_id: orderId, delivery_id: deliveryId, caller } = link;

    const read = await readCards(client, transit, { orderId, deliveryId });
    if (read.outcome === 'none')
      throw new Rollback<Retrieval>({ outcome: 'purged', orderId, deliveryId, caller });
    if (read.outcome === 'unavailable')
      throw new Rollback<Retrieval>({
        outcome: 'unavailable',
        orderId,
        deliveryId,
        caller,
        error: read.error,
      });
    const { cards } = read;

    await audit(client, {
      orderId,
      event: method === 'reveal' ? 'REVEALED' : 'DOWNLOADED',
      actor: 'customer',
      method: `POST /d/:token/${method}`,
      ip: requester.ip,
      userAgent: requester.userAgent,
      count: cards.length,
      detail: { deliveryId, via: method },
    });
    return { outcome: 'retrieved', orderId, deliveryId, caller, cards } as const;
  });
  if (retrieval.outcome === 'retrieved')
    metrics.links.inc({ event: method === 'reveal' ? 'revealed' : 'downloaded' });
  return retrieval;
}

/** A second lookup by hash, whether the token exists or not, so unknown and used links take the same path. */
async function classifyUnclaimed(client: pg.PoolClient, tokenHash: Buffer): Promise<Retrieval> {
  const row = await linkByHash(client, tokenHash);
  return row
    ? { outcome: 'gone', orderId: row.order_id, deliveryId: row.delivery_id, caller: row.caller }
    : { outcome: 'unknown' };
}
