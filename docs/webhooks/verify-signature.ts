/**
 * Verifying a gift card order event, for receivers (Node.js 18+; drop the types for plain JavaScript). Our
 * events are Standard Webhooks (https://www.standardwebhooks.com): verify them with the `standardwebhooks`
 * (or `svix`) library as below, or, without a dependency, with `verifyWithoutLibrary`, which does the same.
 * Give either the raw body exactly as received, before any JSON parsing, and your `whsec_…` secret. Then
 * deduplicate by the `webhook-id` header: an event can arrive more than once (retries, replays).
 * docs/webhooks.md is the guide (Python, svix, secret rotation, the event types).
 */
import { createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

type Headers = Record<string, string | string[] | undefined>;

/** With the reference library: the event, or undefined when it does not verify. */
export function verifyGiftcardWebhook(opts: {
  secret: string;
  headers: Headers;
  rawBody: Buffer | string;
}): unknown {
  try {
    return new Webhook(opts.secret).verify(opts.rawBody.toString(), opts.headers as Record<string, string>);
  } catch {
    return undefined;
  }
}

/**
 * Without a dependency: HMAC-SHA256 under the secret's bytes (the base64 after `whsec_`) of
 * `${webhook-id}.${webhook-timestamp}.${body}`, compared with each `v1,<base64>` in `webhook-signature`
 * (two during a rotation of our secret), and a timestamp no further than `toleranceSeconds` from now.
 */
export function verifyWithoutLibrary(opts: {
  secret: string;
  headers: Headers;
  rawBody: Buffer | string;
  /** How old (or new) a timestamp may be: a captured request cannot be replayed after this. */
  toleranceSeconds?: number;
  nowMs?: number;
}): boolean {
  const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures } = opts.headers;
  if (typeof id !== 'string' || typeof signatures !== 'string') return false;
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) return false;
  const ageSeconds = Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (ageSeconds > (opts.toleranceSeconds ?? 300)) return false;
  const key = Buffer.from(opts.secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(opts.rawBody).digest();
  let valid = false;
  for (const versioned of signatures.split(' ')) {
    const [version, signature] = versioned.split(',');
    if (version !== 'v1' || !signature) continue;
    const presented = Buffer.from(signature, 'base64');
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) valid = true;
  }
  return valid;
}

/** DER prefix of an Ed25519 public key (SubjectPublicKeyInfo); the raw 32 bytes follow. */
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Asymmetric (`v1a`, Ed25519), for a caller given our public key (`whpk_…`) rather than a shared secret:
 * the signature of `${webhook-id}.${webhook-timestamp}.${body}` under that key, the same timestamp rule.
 * (The `standardwebhooks` libraries verify `v1` only.)
 */
export function verifyAsymmetric(opts: {
  publicKey: string;
  headers: Headers;
  rawBody: Buffer | string;
  toleranceSeconds?: number;
  nowMs?: number;
}): boolean {
  const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures } = opts.headers;
  if (typeof id !== 'string' || typeof signatures !== 'string') return false;
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) return false;
  const ageSeconds = Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (ageSeconds > (opts.toleranceSeconds ?? 300)) return false;
  const raw = Buffer.from(opts.publicKey.replace(/^whpk_/, ''), 'base64');
  if (raw.length !== 32) return false;
  const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: 'der', type: 'spki' });
  const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), Buffer.from(opts.rawBody)]);
  return signatures.split(' ').some((versioned) => {
    const [version, signature] = versioned.split(',');
    return version === 'v1a' && !!signature && verify(null, content, key, Buffer.from(signature, 'base64'));
  });
}
