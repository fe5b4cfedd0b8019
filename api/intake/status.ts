/**
 * What `GET /v1/fulfillments/:orderId` tells the caller that created an order: where it is, what was
 * delivered and in what state each link is, and how far its events got. Counts, ids, states and times;
 * never a card, a token, a link or an email address. Read from the database, so it answers for orders
 * whose workflow is long finished too.
 */
import type { Db } from '../../lib/db';
import { storedCount } from '../../store/cards';
import { deliveriesOf } from '../../store/deliveries';
import { callerOrder } from '../../store/orders';
import { eventSummary } from '../../store/webhooks';

export interface FulfillmentStatus {
  orderId: string;
  phase: 'collecting' | 'delivered' | 'failed' | 'cancelled' | 'purged';
  outcome: string | null;
  failureReason: string | null;
  providerStatus: string;
  quantity: number | null;
  storedCards: number;
  deliveredCards: number;
  createdAt: string;
  purgedAt: string | null;
  deliveries: Array<{
    id: string;
    kind: string;
    cardCount: number;
    state: 'pending' | 'active' | 'retrieved' | 'revoked' | 'expired' | 'purged';
    sentAt: string | null;
    expiresAt: string;
  }>;
  events: { lastSequence: number; delivered: number; undeliverable: string[] };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The order's status when `caller` created it; undefined for anyone else's order and for none at all. */
export async function fulfillmentStatus(
  db: Db,
  orderId: string,
  caller: string,
): Promise<FulfillmentStatus | undefined> {
  const order = await callerOrder(db, orderId, caller);
  if (!order) return undefined;
  const [stored, deliveries, ev] = await Promise.all([
    storedCount(db, orderId),
    deliveriesOf(db, orderId),
    eventSummary(db, orderId),
  ]);
  const delivered = deliveries.filter((d) => d.kind === 'batch').reduce((n, d) => n + d.card_count, 0);
  return {
    orderId,
    phase: phaseOf(order.purged_at, order.outcome, delivered),
    outcome: order.outcome,
    failureReason: order.failure_reason,
    providerStatus: order.provider_status,
    quantity: order.quantity,
    storedCards: stored,
    deliveredCards: delivered,
    createdAt: order.created_at.toISOString(),
    purgedAt: iso(order.purged_at),
    deliveries: deliveries.map((d) => ({
      id: d.id,
      kind: d.kind,
      cardCount: d.card_count,
      state: d.state,
      sentAt: iso(d.sent_at),
      expiresAt: d.expires_at.toISOString(),
    })),
    events: {
      lastSequence: ev?.last ?? 0,
      delivered: ev?.delivered ?? 0,
      undeliverable: ev?.undeliverable ?? [],
    },
  };
}

function phaseOf(
  purgedAt: Date | null,
  outcome: string | null,
  delivered: number,
): FulfillmentStatus['phase'] {
  if (purgedAt) return 'purged';
  if (outcome === null) return 'collecting';
  if (delivered > 0) return 'delivered';
  return outcome === 'CANCELLED' ? 'cancelled' : 'failed';
}
