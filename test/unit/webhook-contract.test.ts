/**
 * The webhook contract for receivers: the committed JSON schema matches the one definition (and accepts
 * only what it should), and the documented verification code accepts our signatures and nothing else.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../contracts/order';
import { verifyGiftcardWebhook } from '../../docs/webhooks/verify-signature';
import { signatureHeader } from '../../domain/signing';
import { webhookEventJsonSchema } from '../../domain/webhooks';
import { compileWebhookSchema, schemaPath } from '../helpers/webhook-schema';

const event: WebhookEvent = {
  id: 'evt_0b7f6a3e-3c1e-4f7a-9c55-2f1d0e8a9b10',
  type: 'link.sent',
  orderId: 'ord-42',
  sequence: 2,
  occurredAt: '2026-11-23T10:00:00.000Z',
  data: { deliveryId: 'ord-42#1', cardCount: 3, kind: 'batch', expiresAt: '2026-11-24T10:00:00.000Z' },
};

describe('the event JSON schema', () => {
  it('is the one generated from the definition (run `npm run schema:webhooks` after changing it)', () => {
    expect(readFileSync(schemaPath, 'utf8')).toBe(webhookEventJsonSchema());
  });

  it('accepts an event and refuses unknown types, extra fields and anything secret-shaped added to one', () => {
    const validate = compileWebhookSchema();
    expect(validate(event)).toBe(true);
    expect(validate({ ...event, type: 'card.revealed' })).toBe(false);
    expect(validate({ ...event, email: 'someone@example.test' })).toBe(false);
    expect(validate({ ...event, data: { ...event.data, link: 'https://x/d/abc' } })).toBe(false);
    expect(validate({ ...event, data: { ...event.data, code: 'ABCD-EFGH' } })).toBe(false);
    expect(validate({ ...event, sequence: 0 })).toBe(false);
  });
});

describe('the documented verification code', () => {
  const secret = 'a-receiver-secret-of-32-characters-or-more';
  const rawBody = JSON.stringify(event);
  const now = Date.now();
  const timestamp = String(Math.floor(now / 1000));
  const headers = {
    'x-webhook-id': event.id,
    'x-webhook-timestamp': timestamp,
    'x-webhook-signature': signatureHeader(secret, timestamp, rawBody),
  };

  it('accepts what we send', () => {
    expect(verifyGiftcardWebhook({ secret, headers, rawBody, nowMs: now })).toBe(true);
    expect(verifyGiftcardWebhook({ secret, headers, rawBody: Buffer.from(rawBody), nowMs: now })).toBe(true);
  });

  it('rejects a tampered body, signature or timestamp, another secret, and a stale request', () => {
    const tamperedBody = rawBody.replace('"cardCount":3', '"cardCount":30');
    expect(verifyGiftcardWebhook({ secret, headers, rawBody: tamperedBody, nowMs: now })).toBe(false);
    const sig = headers['x-webhook-signature'];
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
    expect(
      verifyGiftcardWebhook({
        secret,
        headers: { ...headers, 'x-webhook-signature': flipped },
        rawBody,
        nowMs: now,
      }),
    ).toBe(false);
    const later = String(Number(timestamp) + 1);
    expect(
      verifyGiftcardWebhook({
        secret,
        headers: { ...headers, 'x-webhook-timestamp': later },
        rawBody,
        nowMs: now,
      }),
    ).toBe(false);
    expect(verifyGiftcardWebhook({ secret: `${secret}x`, headers, rawBody, nowMs: now })).toBe(false);
    expect(verifyGiftcardWebhook({ secret, headers, rawBody, nowMs: now + 301_000 })).toBe(false);
    expect(verifyGiftcardWebhook({ secret, headers: {}, rawBody, nowMs: now })).toBe(false);
  });
});
