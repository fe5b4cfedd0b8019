/**
 * `npm run ops -- webhooks --order-id <id> [--replay <event id>]`: an order's webhook events with their
 * delivery state, and re-sending one (same id and body, a fresh timestamp and signature) to its caller's
 * endpoint. The event rows are what the worker recorded; events still queued in a running workflow show as
 * its pending count.
 */
import type { WebhookEvent } from '../contracts/order';
import type { Db } from '../lib/db';
import { audit } from '../store/audit';
import { eventsOf, type WebhookRow as StoredWebhookRow } from '../store/webhooks';
import { postWebhookEvent, recordWebhookAttempt, type WebhookEndpoints } from './webhooks';

export type WebhookRow = StoredWebhookRow<WebhookEvent>;

export async function listWebhookEvents(db: Db, orderId: string): Promise<WebhookRow[]> {
  return eventsOf<WebhookEvent>(db, orderId);
}

export function formatWebhookEvents(rows: WebhookRow[]): string {
  if (rows.length === 0) return 'No webhook events recorded for this order.';
  const lines = rows.map(
    (r) =>
      `  #${String(r.sequence).padEnd(3)} ${r.type.padEnd(26)} ${r.state.padEnd(13)} attempts ${String(r.attempts).padEnd(4)}` +
      ` last HTTP ${r.last_status ?? '-'}  ${r.event_id}`,
  );
  return [`  seq  type${' '.repeat(23)}state         attempts  last answer`, ...lines].join('\n');
}

/** Re-sends one recorded event to its caller's endpoint now; the answer's status is returned and recorded. */
export async function replayWebhookEvent(
  db: Db,
  endpoints: WebhookEndpoints,
  orderId: string,
  eventId: string,
  actor: string,
): Promise<number> {
  const row = (await listWebhookEvents(db, orderId)).find((r) => r.event_id === eventId);
  if (!row) throw new Error(`order ${orderId} has no recorded event ${eventId}`);
  const endpoint = endpoints.get(row.caller);
  if (!endpoint) throw new Error(`caller ${row.caller} has no endpoint in WEBHOOK_ENDPOINTS`);
  let status: number | null = null;
  try {
    status = await postWebhookEvent(endpoint, row.body);
    return status;
  } finally {
    await recordWebhookAttempt(db, eventId, status);
    await audit(db, {
      orderId,
      event: 'WEBHOOK_REPLAYED',
      actor,
      method: 'ops webhooks --replay',
      detail: { eventId, sequence: row.sequence, status },
    });
  }
}
