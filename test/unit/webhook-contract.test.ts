/**
 * The webhook contract for receivers: the committed JSON schema matches the one definition (and accepts
 * only what it should); what we send verifies with the reference Standard Webhooks library and with the
 * documented code, and nothing tampered does; a rotation's two signatures each verify; an old-form secret
 * is its whsec_ form; and the intake and webhook signatures are domain-separated: under one and the same
 * secret, neither is ever the other.
 */

import { readFileSync } from 'node:fs';
import { validateHeaderValue } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../contracts/order';
import {
  verifyAsymmetric,
  verifyGiftcardWebhook,
  verifyWithoutLibrary,
} from '../../docs/webhooks/verify-signature';
import {
  INTAKE_SIGNATURE_LABEL,
  signatureHeader,
  standardWebhookSecret,
  verifySignature,
  webhookPublicKey,
} from '../../domain/signing';
import { webhookEventJsonSchema, webhookHeaders } from '../../domain/webhooks';
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

const libraryAccepts = (secret: string, rawBody: string, headers: Record<string, string>) => {
  try {
    new Webhook(secret).verify(rawBody, headers);
    return true;
  } catch {
    return false;
  }
};

describe('what we send', () => {
  const secret = `whsec_${Buffer.from('a receiver secret of 32 bytes!!!').toString('base64')}`;
  const rawBody = JSON.stringify(event);
  const now = Date.now();
  const timestamp = String(Math.floor(now / 1000));
  const headers = webhookHeaders({ secrets: [secret] }, event.id, timestamp, rawBody);

  it('is Standard Webhooks: the reference library and the documented code accept it', () => {
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(headers['webhook-id']).toBe(event.id);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(rawBody, headers)).toEqual(event);
    expect(verifyGiftcardWebhook({ secret, headers, rawBody })).toEqual(event);
    expect(verifyGiftcardWebhook({ secret, headers, rawBody: Buffer.from(rawBody) })).toEqual(event);
    expect(verifyWithoutLibrary({ secret, headers, rawBody, nowMs: now })).toBe(true);
    expect(verifyWithoutLibrary({ secret, headers, rawBody: Buffer.from(rawBody), nowMs: now })).toBe(true);
  });

  it('tampered (body, id, timestamp, signature), under another secret or stale, verifies nowhere', () => {
    const sig = headers['webhook-signature']!;
    const flipped = `${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`;
    const cases: Array<[string, string, Record<string, string>]> = [
      ['body', rawBody.replace('"cardCount":3', '"cardCount":30'), headers],
      ['id', rawBody, { ...headers, 'webhook-id': 'evt_11111111-3c1e-4f7a-9c55-2f1d0e8a9b10' }],
      ['timestamp', rawBody, { ...headers, 'webhook-timestamp': String(Number(timestamp) + 1) }],
      ['signature', rawBody, { ...headers, 'webhook-signature': flipped }],
      ['no signature', rawBody, { ...headers, 'webhook-signature': '' }],
    ];
    for (const [what, body, h] of cases) {
      expect({ what, library: libraryAccepts(secret, body, h) }).toEqual({ what, library: false });
      expect({
        what,
        plain: verifyWithoutLibrary({ secret, headers: h, rawBody: body, nowMs: now }),
      }).toEqual({
        what,
        plain: false,
      });
    }
    const other = `whsec_${Buffer.from('another secret of 32 bytes!!!!!!').toString('base64')}`;
    expect(libraryAccepts(other, rawBody, headers)).toBe(false);
    expect(verifyWithoutLibrary({ secret: other, headers, rawBody, nowMs: now })).toBe(false);
    expect(verifyWithoutLibrary({ secret, headers, rawBody, nowMs: now + 301_000 })).toBe(false);
    const stale = webhookHeaders({ secrets: [secret] }, event.id, String(Number(timestamp) - 301), rawBody);
    expect(libraryAccepts(secret, rawBody, stale)).toBe(false);
  });

  it('while a secret rotates: both signatures, space-separated; a receiver with either secret verifies', () => {
    const older = `whsec_${Buffer.from('the previous secret, 32 bytes!!!').toString('base64')}`;
    const both = webhookHeaders({ secrets: [secret, older] }, event.id, timestamp, rawBody);
    expect(both['webhook-signature']!.split(' ')).toEqual([
      headers['webhook-signature'],
      webhookHeaders({ secrets: [older] }, event.id, timestamp, rawBody)['webhook-signature'],
    ]);
    expect(libraryAccepts(secret, rawBody, both)).toBe(true);
    expect(libraryAccepts(older, rawBody, both)).toBe(true);
    expect(verifyWithoutLibrary({ secret: older, headers: both, rawBody, nowMs: now })).toBe(true);
  });

  it('an old-form secret is the whsec_ secret of its bytes, and its endpoint still gets the deprecated headers', () => {
    const legacy = 'an-old-form-secret-of-32-characters-or-more';
    const h = webhookHeaders({ secrets: [legacy] }, event.id, timestamp, rawBody);
    expect(standardWebhookSecret(legacy)).toBe(`whsec_${Buffer.from(legacy).toString('base64')}`);
    expect(libraryAccepts(standardWebhookSecret(legacy), rawBody, h)).toBe(true);
    expect(h['x-webhook-id']).toBe(event.id);
    expect(h['x-webhook-timestamp']).toBe(timestamp);
    expect(h['x-webhook-signature']).toBe(signatureHeader(legacy, timestamp, rawBody, 'v1'));
  });
});

describe('asymmetric signatures (v1a, Ed25519)', () => {
  const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
  const signingKey = `whsk_${Buffer.alloc(32, 5).toString('base64')}`;
  const otherKey = `whsk_${Buffer.alloc(32, 6).toString('base64')}`;
  const publicKey = webhookPublicKey(signingKey);
  const rawBody = JSON.stringify(event);
  const now = Date.now();
  const timestamp = String(Math.floor(now / 1000));

  it('verify with the published public key, beside the v1 signature the libraries check', () => {
    expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const h = webhookHeaders({ secrets: [secret], signingKeys: [signingKey] }, event.id, timestamp, rawBody);
    const [v1, v1a] = h['webhook-signature']!.split(' ');
    expect(v1).toMatch(/^v1,/);
    expect(v1a).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(verifyAsymmetric({ publicKey, headers: h, rawBody, nowMs: now })).toBe(true);
    expect(libraryAccepts(secret, rawBody, h)).toBe(true); // the library skips v1a and checks v1
    // Only the key pair's own: another key, a tampered body or id, a stale timestamp fail.
    expect(verifyAsymmetric({ publicKey: webhookPublicKey(otherKey), headers: h, rawBody, nowMs: now })).toBe(
      false,
    );
    expect(verifyAsymmetric({ publicKey, headers: h, rawBody: `${rawBody} `, nowMs: now })).toBe(false);
    expect(
      verifyAsymmetric({ publicKey, headers: { ...h, 'webhook-id': 'evt_other' }, rawBody, nowMs: now }),
    ).toBe(false);
    expect(verifyAsymmetric({ publicKey, headers: h, rawBody, nowMs: now + 301_000 })).toBe(false);
  });

  it('an endpoint with signing keys only sends v1a; two while one rotates, each verifying with its public key', () => {
    const h = webhookHeaders(
      { secrets: [], signingKeys: [signingKey, otherKey] },
      event.id,
      timestamp,
      rawBody,
    );
    expect(h['webhook-signature']!.split(' ').map((s) => s.split(',')[0])).toEqual(['v1a', 'v1a']);
    for (const key of [signingKey, otherKey])
      expect(verifyAsymmetric({ publicKey: webhookPublicKey(key), headers: h, rawBody, nowMs: now })).toBe(
        true,
      );
  });
});

describe('intake and webhook signatures, under one and the same secret', () => {
  const secret = 'one-secret-for-intake-and-webhooks-32+';
  const whsec = standardWebhookSecret(secret);
  const now = String(Math.floor(Date.now() / 1000));

  it('a webhook signature is no intake signature, in any form', () => {
    const rawBody = JSON.stringify(event);
    const h = webhookHeaders({ secrets: [secret] }, event.id, now, rawBody);
    const standardHex = Buffer.from(h['webhook-signature']!.slice(3), 'base64').toString('hex');
    const legacyHex = h['x-webhook-signature']!.slice(3);
    for (const payload of [rawBody, `${event.id}.${now}.${rawBody}`, `${now}.${rawBody}`])
      for (const hex of [standardHex, legacyHex])
        for (const version of ['v1', 'v2'])
          expect(verifySignature([secret], now, payload, `${version}=${hex}`)).toBeUndefined();
    // The deprecated intake form is the old webhook header's: why INTAKE_ACCEPT_V1_SIGNATURES is off.
    expect(
      verifySignature([secret], now, rawBody, h['x-webhook-signature'], { acceptV1: true }),
    ).toBeDefined();
    expect(verifySignature([secret], now, rawBody, h['x-webhook-signature'])).toBeUndefined();
  });

  it('an intake signature is no webhook: the unlabelled v1 was one for a dotted order id; v2 needs an id no header can carry', () => {
    // A status request for an order id that reads as "<timestamp>.<json>": its signature input splits into
    // a Standard Webhooks id, timestamp and body.
    const path = `GET /v1/fulfillments/ord.${now}.5`;
    const v1 = Buffer.from(signatureHeader(secret, now, path, 'v1').slice(3), 'hex').toString('base64');
    const forged = { 'webhook-id': `${now}.GET /v1/fulfillments/ord`, 'webhook-timestamp': now };
    expect(libraryAccepts(whsec, '5', { ...forged, 'webhook-signature': `v1,${v1}` })).toBe(true);

    const v2 = Buffer.from(signatureHeader(secret, now, path).slice(3), 'hex').toString('base64');
    expect(libraryAccepts(whsec, '5', { ...forged, 'webhook-signature': `v1,${v2}` })).toBe(false);
    // The only id under which it would verify starts with the label, and the label ends in a line feed.
    const labelled = `${INTAKE_SIGNATURE_LABEL}${forged['webhook-id']}`;
    expect(
      libraryAccepts(whsec, '5', { ...forged, 'webhook-id': labelled, 'webhook-signature': `v1,${v2}` }),
    ).toBe(true);
    expect(() => validateHeaderValue('webhook-id', labelled)).toThrow(/Invalid character/);
  });

  it('v2 is what intake accepts by default; v1 only when allowed', () => {
    const body = '{"orderId":"ord-1"}';
    expect(verifySignature([secret], now, body, signatureHeader(secret, now, body))).toBeDefined();
    expect(verifySignature([secret], now, body, signatureHeader(secret, now, body, 'v1'))).toBeUndefined();
    expect(
      verifySignature([secret], now, body, signatureHeader(secret, now, body, 'v1'), { acceptV1: true }),
    ).toBeDefined();
  });
});
