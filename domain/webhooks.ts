/**
 * Webhooks to the upstream caller that started an order (DESIGN 7): where each caller's endpoint is, what
 * an event looks like on the wire (the zod schema here is the one definition; the JSON schema in
 * contracts/webhook-event.schema.json is generated from it), and how one is signed and sent, as Standard
 * Webhooks (https://www.standardwebhooks.com) specifies (docs/webhooks.md is the receivers' guide):
 *
 *   POST <endpoint>
 *   Content-Type: application/json
 *   webhook-id: <event id, the same on every retry and replay>
 *   webhook-timestamp: <unix seconds>
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + rawBody)> [v1,<…> while rotating]
 *
 * (and `v1a,<base64 Ed25519 signature of the same>` per signing key, for callers given our public key).
 * An endpoint whose secret is still in the old form also gets, for one deprecation period, the old
 * X-Webhook-Id, X-Webhook-Timestamp and X-Webhook-Signature (v1=<hex HMAC(secret, timestamp.body)>).
 * A 2xx acknowledges the event; 410 means "send nothing more for this order"; anything else is retried.
 * Every send resolves the endpoint's name again and connects only to screened addresses
 * (webhook-address.ts).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES, type WebhookEvent, type WebhookEventType } from '../contracts/order';
import type { Db } from '../lib/db';
import { recordAttempt } from '../store/webhooks';
import { isLegacyWebhookSecret, signatureHeader, standardWebhookSignatures } from './signing';
import {
  addressAllowList,
  refusedAddressClass,
  screenedLookup,
  WebhookAddressRefused,
} from './webhook-address';

export interface WebhookEndpoint {
  url: string;
  /**
   * The secrets this caller verifies our events with, `whsec_…` (Standard Webhooks) or, deprecated, the
   * old 32+ character form; two while one replaces the other: every event then carries both signatures.
   */
  secrets: readonly string[];
  /**
   * Ed25519 signing keys (`whsk_…`), for callers that verify with our public key (`whpk_…`) instead of a
   * shared secret: each adds a `v1a` signature; two while one replaces the other.
   */
  signingKeys?: readonly string[];
  /** The event types this caller receives; all when absent. */
  events?: readonly WebhookEventType[];
  /** Addresses or ranges this endpoint may resolve to although they are internal (never in production). */
  allowPrivate?: readonly string[];
}

export type WebhookEndpoints = ReadonlyMap<string, WebhookEndpoint>;

/** The Standard Webhooks headers, as sent (lowercase). */
const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

/** The headers before Standard Webhooks: still sent to endpoints with an old-form secret (deprecated). */
const LEGACY_WEBHOOK_HEADERS = {
  id: 'x-webhook-id',
  timestamp: 'x-webhook-timestamp',
  signature: 'x-webhook-signature',
} as const;

/** Whether the caller receives events of this type. */
export function subscribes(endpoint: WebhookEndpoint, type: WebhookEventType): boolean {
  return !endpoint.events || endpoint.events.includes(type);
}

/** The signed headers of one event, at this timestamp. */
export function webhookHeaders(
  endpoint: Pick<WebhookEndpoint, 'secrets' | 'signingKeys'>,
  eventId: string,
  timestamp: string,
  body: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    [WEBHOOK_HEADERS.id]: eventId,
    [WEBHOOK_HEADERS.timestamp]: timestamp,
    [WEBHOOK_HEADERS.signature]: standardWebhookSignatures(
      endpoint.secrets,
      eventId,
      timestamp,
      body,
      endpoint.signingKeys,
    ),
  };
  const legacy = endpoint.secrets.find(isLegacyWebhookSecret);
  if (legacy !== undefined) {
    headers[LEGACY_WEBHOOK_HEADERS.id] = eventId;
    headers[LEGACY_WEBHOOK_HEADERS.timestamp] = timestamp;
    headers[LEGACY_WEBHOOK_HEADERS.signature] = signatureHeader(legacy, timestamp, body, 'v1');
  }
  return headers;
}

const id = z.string().regex(/^[A-Za-z0-9._:#-]{1,200}$/);

const webhookEventSchema = z
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
 * POSTs one event, signed with the caller's secrets; returns the HTTP status. The endpoint's name is
 * resolved now and the connection goes to a screened address only (else WebhookAddressRefused, before
 * anything is sent). The answer is never read (nothing it says may reach a log or a history), and
 * redirects are not followed.
 */
export async function postWebhookEvent(
  endpoint: WebhookEndpoint,
  event: WebhookEvent,
  timeoutMs = 10_000,
): Promise<number> {
  const body = JSON.stringify(event);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const url = new URL(endpoint.url);
  const allow = addressAllowList(endpoint.allowPrivate);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    // An address in the URL is not looked up: screened here.
    const cls = refusedAddressClass(host, allow);
    if (cls) throw new WebhookAddressRefused(cls, host);
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'giftcards-webhooks/2',
          ...webhookHeaders(endpoint, event.id, timestamp, body),
        },
        lookup: screenedLookup(allow),
        agent: false,
      },
      (res: IncomingMessage) => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    const timer = setTimeout(() => {
      const err = new Error('webhook endpoint timed out');
      err.name = 'TimeoutError';
      req.destroy(err);
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

/**
 * Counts one attempt at an event in `webhook_events` (null status: no answer at all). A 2xx makes it
 * delivered and a 410 gone; an event already delivered, gone or undeliverable keeps its state (a replay
 * counts as an attempt all the same).
 */
export async function recordWebhookAttempt(db: Db, eventId: string, status: number | null): Promise<void> {
  await recordAttempt(db, eventId, status);
}
