/**
 * The webhooks' store: the only module that reads or writes `webhook_events`, every event an order's
 * workflow sent or tried to send, with its delivery state (ids, counts and reasons: never a card, a token,
 * a link or an address).
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Records an event before its first attempt, once. */
export async function insertEvent(
  db: Queryable,
  e: { id: string; orderId: string; caller: string; sequence: number; type: string; body: unknown },
): Promise<void> {
  await db.query({
    name: 'webhooks-insert',
    text: `INSERT INTO webhook_events (event_id, order_id, caller, sequence, type, body)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
    values: [e.id, e.orderId, e.caller, e.sequence, e.type, JSON.stringify(e.body)],
  });
}

/**
 * Counts one attempt at an event (null status: no answer at all). A 2xx makes it delivered and a 410
 * gone; an event already delivered, gone or undeliverable keeps its state.
 */
export async function recordAttempt(db: Queryable, eventId: string, status: number | null): Promise<void> {
  const ok = status !== null && status >= 200 && status < 300;
  const state = ok ? 'delivered' : status === 410 ? 'gone' : 'sending';
  await db.query({
    name: 'webhooks-attempt',
    text: `UPDATE webhook_events SET attempts = attempts + 1, last_status = $2, last_attempt_at = now(),
       state = CASE WHEN state = 'sending' OR $3 = 'delivered' THEN $3 ELSE state END,
       delivered_at = CASE WHEN $3 = 'delivered' THEN coalesce(delivered_at, now()) ELSE delivered_at END
     WHERE event_id = $1`,
    values: [eventId, status, state],
  });
}

/** Marks an event still being sent undeliverable; its attempts, or undefined when it was not sending. */
export async function markUndeliverable(db: Queryable, eventId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ attempts: number }>({
    name: 'webhooks-undeliverable',
    text: `UPDATE webhook_events SET state = 'undeliverable' WHERE event_id = $1 AND state = 'sending'
           RETURNING attempts`,
    values: [eventId],
  });
  return rows[0]?.attempts;
}

export interface WebhookRow<Body = unknown> {
  event_id: string;
  sequence: number;
  type: string;
  state: string;
  attempts: number;
  last_status: number | null;
  created_at: Date;
  delivered_at: Date | null;
  caller: string;
  body: Body;
}

/** An order's events, in sequence. */
export async function eventsOf<Body>(db: Queryable, orderId: string): Promise<WebhookRow<Body>[]> {
  const { rows } = await db.query<WebhookRow<Body>>({
    name: 'webhooks-of-order',
    text: `SELECT event_id, sequence, type, state, attempts, last_status, created_at, delivered_at, caller, body
             FROM webhook_events WHERE order_id = $1 ORDER BY sequence`,
    values: [orderId],
  });
  return rows;
}

/** An order's events in sum: the last sequence, how many were delivered, which are undeliverable. */
export async function eventSummary(
  db: Queryable,
  orderId: string,
): Promise<{ last: number | null; delivered: number; undeliverable: string[] } | undefined> {
  const { rows } = await db.query<{ last: number | null; delivered: number; undeliverable: string[] }>({
    name: 'webhooks-summary',
    text: `SELECT max(sequence) AS last, count(*) FILTER (WHERE state = 'delivered')::int AS delivered,
            coalesce(array_agg(event_id ORDER BY sequence) FILTER (WHERE state = 'undeliverable'), '{}') AS undeliverable
       FROM webhook_events WHERE order_id = $1`,
    values: [orderId],
  });
  return rows[0];
}
