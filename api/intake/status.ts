/**
 * What `GET /v1/fulfillments/:orderId` tells the caller that created an order: where it is, what was
 * delivered and in what state each link is, and how far its events got. Counts, ids, states and times;
 * never a card, a token, a link or an email address. Read from the database, so it answers for orders
 * whose workflow is long finished too.
 */
import type { Db } from '../../lib/db';

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
  const { rows } = await db.query<{
    provider_status: string;
    quantity: number | null;
    outcome: string | null;
    failure_reason: string | null;
    created_at: Date;
    purged_at: Date | null;
    stored: number;
  }>(
    `SELECT provider_status, quantity, outcome, failure_reason, created_at, purged_at,
            (SELECT count(*)::int FROM cards c WHERE c.order_id = o.order_id) AS stored
       FROM orders o WHERE order_id = $1 AND caller = $2`,
    [orderId, caller],
  );
  const order = rows[0];
  if (!order) return undefined;

  const deliveries = await db.query<{
    id: string;
    kind: string;
    card_count: number;
    sent_at: Date | null;
    expires_at: Date;
    state: FulfillmentStatus['deliveries'][number]['state'];
  }>(
    `SELECT d.id, d.kind, d.card_count, d.sent_at, d.expires_at,
            CASE WHEN d.sent_at IS NULL THEN 'pending'
                 WHEN t.token_hash IS NULL THEN 'purged'
                 WHEN t.consumed_at IS NOT NULL THEN 'retrieved'
                 WHEN t.revoked_at IS NOT NULL THEN 'revoked'
                 WHEN t.expired_at IS NOT NULL OR t.expires_at <= now() THEN 'expired'
                 ELSE 'active' END AS state
       FROM deliveries d
       LEFT JOIN LATERAL (SELECT * FROM delivery_tokens t WHERE t.delivery_id = d.id
                          ORDER BY t.created_at DESC LIMIT 1) t ON true
      WHERE d.order_id = $1 AND d.card_count > 0
      ORDER BY d.created_at, d.id`,
    [orderId],
  );
  const events = await db.query<{ last: number | null; delivered: number; undeliverable: string[] }>(
    `SELECT max(sequence) AS last, count(*) FILTER (WHERE state = 'delivered')::int AS delivered,
            coalesce(array_agg(event_id ORDER BY sequence) FILTER (WHERE state = 'undeliverable'), '{}') AS undeliverable
       FROM webhook_events WHERE order_id = $1`,
    [orderId],
  );
  const delivered = deliveries.rows.filter((d) => d.kind === 'batch').reduce((n, d) => n + d.card_count, 0);
  const ev = events.rows[0];
  return {
    orderId,
    phase: phaseOf(order.purged_at, order.outcome, delivered),
    outcome: order.outcome,
    failureReason: order.failure_reason,
    providerStatus: order.provider_status,
    quantity: order.quantity,
    storedCards: order.stored,
    deliveredCards: delivered,
    createdAt: order.created_at.toISOString(),
    purgedAt: iso(order.purged_at),
    deliveries: deliveries.rows.map((d) => ({
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
