/**
 * The signatures between us and upstream systems, one scheme per direction and never the same bytes:
 *
 * - Webhooks we send: Standard Webhooks (https://www.standardwebhooks.com, the scheme of Svix and the
 *   `standardwebhooks` libraries): `webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp +
 *   "." + body)>`, the key being the bytes after `whsec_` (base64), and/or, for a caller with a signing
 *   key, `v1a,<base64 Ed25519 signature of the same>` (`whsk_` ours, `whpk_` theirs). The id is signed.
 * - Intake requests callers send us: `x-intake-signature: v2=<hex HMAC-SHA256(secret, "giftcards-intake\n" +
 *   timestamp + "." + payload)>` (the payload: the body's bytes; for a GET, the request line). The label
 *   ends in a line feed, which no HTTP header value can carry: whatever the payload, an intake signature's
 *   input is never `id.timestamp.body` for an id a webhook could name, and a webhook's input starts with
 *   its id (`evt_…`), never with the label. So neither is ever the other, even under one key.
 * - Deprecated, accepted for one deprecation period: intake `v1=<hex HMAC(secret, timestamp + "." +
 *   payload)>` (no label), and the webhook headers `X-Webhook-*` (`v1=<hex HMAC(secret, timestamp + "." +
 *   body)>`, the id unsigned), sent only to endpoints whose secret is still in the old form.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  timingSafeEqual,
} from 'node:crypto';

// ---------------------------------------------------------------- Standard Webhooks (what we send)

const WHSEC_PREFIX = 'whsec_';

/**
 * The HMAC key of a webhook secret: the base64 bytes after `whsec_`; a secret in the old form (32+ plain
 * characters, before Standard Webhooks) is its UTF-8 bytes, which is the secret `whsec_<base64 of them>`.
 */
function webhookKey(secret: string): Buffer {
  return secret.startsWith(WHSEC_PREFIX)
    ? Buffer.from(secret.slice(WHSEC_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** The secret in the Standard Webhooks form, as a receiver configures its library with it. */
export function standardWebhookSecret(secret: string): string {
  return secret.startsWith(WHSEC_PREFIX) ? secret : `${WHSEC_PREFIX}${webhookKey(secret).toString('base64')}`;
}

/** True when the secret is in the old (plain) form: its endpoint still gets the deprecated headers. */
export function isLegacyWebhookSecret(secret: string): boolean {
  return !secret.startsWith(WHSEC_PREFIX);
}

/** One `v1,<base64>` signature of an event, as Standard Webhooks defines it. */
function standardWebhookSignature(
  secret: string,
  id: string,
  timestamp: string,
  body: Buffer | string,
): string {
  const mac = createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.`, 'utf8').update(body);
  return `v1,${mac.digest('base64')}`;
}

/**
 * The `webhook-signature` value: one `v1` signature per secret and one `v1a` per signing key (two of a
 * kind while one rotates), space-separated.
 */
export function standardWebhookSignatures(
  secrets: readonly string[],
  id: string,
  timestamp: string,
  body: Buffer | string,
  signingKeys: readonly string[] = [],
): string {
  return [
    ...secrets.map((s) => standardWebhookSignature(s, id, timestamp, body)),
    ...signingKeys.map((k) => asymmetricWebhookSignature(k, id, timestamp, body)),
  ].join(' ');
}

// ---------------------------------------------------------------- Standard Webhooks, asymmetric (v1a)

const WHSK_PREFIX = 'whsk_';
const WHPK_PREFIX = 'whpk_';

/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The Ed25519 private key of a `whsk_` signing key: base64 of its 32-byte seed (or of the seed and the
 * public key, 64 bytes, as libsodium keeps them).
 */
function signingKeyObject(signingKey: string): KeyObject {
  const raw = Buffer.from(signingKey.slice(WHSK_PREFIX.length), 'base64');
  return createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8, raw.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** The `whpk_` public key a receiver verifies v1a signatures with: base64 of the raw 32 bytes. */
export function webhookPublicKey(signingKey: string): string {
  const spki = createPublicKey(signingKeyObject(signingKey)).export({ format: 'der', type: 'spki' });
  return `${WHPK_PREFIX}${spki.subarray(spki.length - 32).toString('base64')}`;
}

/** One `v1a,<base64>` signature: Ed25519 over `id.timestamp.body`. */
function asymmetricWebhookSignature(
  signingKey: string,
  id: string,
  timestamp: string,
  body: Buffer | string,
): string {
  const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), Buffer.from(body)]);
  return `v1a,${sign(null, content, signingKeyObject(signingKey)).toString('base64')}`;
}

// ---------------------------------------------------------------- intake (what callers send us)

/** What an intake signature's input starts with (v2): the domain, and a byte no header can carry. */
export const INTAKE_SIGNATURE_LABEL = 'giftcards-intake\n';

export type IntakeSignatureVersion = 'v1' | 'v2';

function hmacSignature(
  secret: string,
  timestamp: string,
  payload: Buffer | string,
  version: IntakeSignatureVersion = 'v2',
): Buffer {
  const mac = createHmac('sha256', secret);
  if (version === 'v2') mac.update(INTAKE_SIGNATURE_LABEL, 'utf8');
  return mac.update(`${timestamp}.`, 'utf8').update(payload).digest();
}

/**
 * The intake signature header; the reference for callers and for tests (`v2`; `v1` only to show what the
 * deprecated form was, and in the old webhook headers).
 */
export function signatureHeader(
  secret: string,
  timestamp: string,
  payload: Buffer | string,
  version: IntakeSignatureVersion = 'v2',
): string {
  return `${version}=${hmacSignature(secret, timestamp, payload, version).toString('hex')}`;
}

const SIGNATURE_HEADER = /^(v1|v2)=([0-9a-fA-F]{64})$/;
const TIMESTAMP_HEADER = /^[0-9]{1,12}$/;

/** Unix seconds from the header, or undefined when malformed or outside the window (either way). */
export function freshTimestamp(
  header: string | undefined,
  windowMs: number,
  nowMs = Date.now(),
): string | undefined {
  if (!header || !TIMESTAMP_HEADER.test(header)) return undefined;
  return Math.abs(nowMs - Number(header) * 1000) <= windowMs ? header : undefined;
}

/**
 * The presented intake signature's bytes when it matches one of the secrets, else undefined; only with `acceptV1`
 * the deprecated unlabelled form too. Every secret is tried (no early exit), and the comparison
 * is constant-time.
 */
export function verifySignature(
  secrets: readonly string[],
  timestamp: string,
  payload: Buffer | string,
  header: string | undefined,
  opts: { acceptV1?: boolean } = {},
): Buffer | undefined {
  const match = header ? SIGNATURE_HEADER.exec(header.trim()) : null;
  const version = match?.[1] as IntakeSignatureVersion | undefined;
  if (!match?.[2] || !version || (version === 'v1' && opts.acceptV1 !== true)) return undefined;
  const presented = Buffer.from(match[2], 'hex');
  let valid = false;
  for (const secret of secrets) {
    if (timingSafeEqual(hmacSignature(secret, timestamp, payload, version), presented)) valid = true;
  }
  return valid ? presented : undefined;
}
