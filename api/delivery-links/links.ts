/**
 * Delivery links: looking one up for the landing page (read-only, in the API's own database), and
 * consuming one to hand out its cards, which only the decryptor can do (DESIGN 3.4, 3.7). Tokens are only
 * ever stored as their SHA-256.
 */
import type { Decryptor, Retrieval, RetrievalMethod } from '../../domain/decryptor-client';
import type { Db } from '../../lib/db';
import { metrics } from '../../lib/metrics';
import { hashToken } from '../../lib/tokens';
import { findLink as findLinkRow, type LinkState } from '../../store/deliveries';
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

export type { RetrievalMethod };

/** The decryptor's answer, or the decryptor not answering (the link is left as it was). */
export type LinkRetrieval = Retrieval | { outcome: 'unreachable'; error: unknown; caller?: undefined };

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

/**
 * Consumes the link and hands out its cards, through the decryptor (the API holds no card key): the token
 * goes there as presented, and the decryptor claims it, decrypts its cards and audits the retrieval in one
 * transaction (decryptor/reveal.ts).
 */
export async function consumeLink(
  decryptor: Pick<Decryptor, 'consumeLink'>,
  token: string,
  method: RetrievalMethod,
  requester: Requester,
): Promise<LinkRetrieval> {
  let retrieval: Retrieval;
  try {
    retrieval = await decryptor.consumeLink({ token, method, requester });
  } catch (error) {
    return { outcome: 'unreachable', error };
  }
  if (retrieval.outcome === 'retrieved')
    metrics.links.inc({ event: method === 'reveal' ? 'revealed' : 'downloaded' });
  return retrieval;
}
