/**
 * Webhooks to the upstream caller that started an order (DESIGN 7): where each caller's endpoint is, what
 * an event looks like on the wire (the zod schema here is the one definition; the JSON schema in
 * contracts/webhook-event.schema.json is generated from it), and how one is signed and sent.
 *
 *   POST <endpoint>
 *   Content-Type: application/json
 *   X-Webhook-Id: <event id, the same on every retry and replay>
 *   X-Webhook-Timestamp: <unix seconds>
 *   X-Webhook-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + rawBody)>
 *
 * A 2xx acknowledges the event; 410 means "send nothing more for this order"; anything else is retried.
 */
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES, type WebhookEvent } from '../contracts/order';
import type { Db } from '../lib/db';
import { signatureHeader } from './signing';

export interface WebhookEndpoint {
  url: string;
  /** The HMAC key this caller verifies our events with (32+ characters). */
  secret: string;
}

export type WebhookEndpoints = ReadonlyMap<string, WebhookEndpoint>;

export const WEBHOOK_HEADERS = {
  id: 'x-webhook-id',
  timestamp: 'x-webhook-timestamp',
  signature: 'x-webhook-signature',
} as const;

const id = z.string().regex(/^[A-Za-z0-9._:#-]{1,200}$/);

export const webhookEventSchema = z
  .object({
    id: z.string().regex(/^evt_[0-9a-f-]{36}$/),
    type: z.enum(WEBHOOK_EVENT_TYPES),
    orderId: id,
    sequence: z.number().int().min(1),
    occurredAt: z.iso.datetime(),
    data: z
      .object({
        deliveryId: id.optional(),
        cardCount: z.number().int().min(0).optional(),
        deliveredCards: z.number().int().min(0).optional(),
        quantity: z.number().int().min(0).nullable().optional(),
        expiresAt: z.iso.datetime().optional(),
        kind: z.enum(['batch', 'resend']).optional(),
        outcome: z.enum(['DELIVERED', 'PARTIALLY_DELIVERED', 'FAILED', 'CANCELLED']).optional(),
        reason: z.string().max(500).nullable().optional(),
        count: z.number().int().min(0).optional(),
      })
      .strict(),
  })
  .strict()
  .meta({
    $id: 'https://giftcards.local/schemas/webhook-event.json',
    title: 'Gift card order event',
    description:
      'One event of an order, as the caller that started it receives it. Ids, counts and reasons only: never a card, a token, a link or an email address.',
  }) satisfies z.ZodType<WebhookEvent>;

/** The JSON schema of an event, as committed in contracts/webhook-event.schema.json. */
export function webhookEventJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(webhookEventSchema, { target: 'draft-2020-12' }), null, 2)}\n`;
}

/**
 * POSTs one event, signed with the caller's secret; returns the HTTP status. The endpoint's answer is
 * never read (nothing it says may reach a log or a history), and redirects are not followed.
 */
export async function postWebhookEvent(
  endpoint: WebhookEndpoint,
  event: WebhookEvent,
  timeoutMs = 10_000,
): Promise<number> {
  const body = JSON.stringify(event);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const response = await fetch(endpoint.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'giftcards-webhooks/1',
      [WEBHOOK_HEADERS.id]: event.id,
      [WEBHOOK_HEADERS.timestamp]: timestamp,
      [WEBHOOK_HEADERS.signature]: signatureHeader(endpoint.secret, timestamp, body),
    },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.body?.cancel().catch(() => undefined);
  return response.status;
}

/**
 * Counts one attempt at an event in `webhook_events` (null status: no answer at all). A 2xx makes it
 * delivered and a 410 gone; an event already delivered, gone or undeliverable keeps its state (a replay
 * counts as an attempt all the same).
 */
export async function recordWebhookAttempt(db: Db, eventId: string, status: number | null): Promise<void> {
  const ok = status !== null && status >= 200 && status < 300;
  const state = ok ? 'delivered' : status === 410 ? 'gone' : 'sending';
  await db.query(
    `UPDATE webhook_events SET attempts = attempts + 1, last_status = $2, last_attempt_at = now(),
       state = CASE WHEN state = 'sending' OR $3 = 'delivered' THEN $3 ELSE state END,
       delivered_at = CASE WHEN $3 = 'delivered' THEN coalesce(delivered_at, now()) ELSE delivered_at END
     WHERE event_id = $1`,
    [eventId, status, state],
  );
}
