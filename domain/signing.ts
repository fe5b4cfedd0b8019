/**
 * The one signature scheme between us and upstream systems, both ways: intake requests they send us and
 * webhook events we send them. `v1=<hex HMAC-SHA256(secret, timestamp + "." + payload)>`, where the payload
 * is the exact bytes of the body (for a GET, the request line, so a signature is bound to its path).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function hmacSignature(secret: string, timestamp: string, payload: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(payload).digest();
}

/** The header value; the reference for callers, for our webhooks and for tests. */
export function signatureHeader(secret: string, timestamp: string, payload: Buffer | string): string {
  return `v1=${hmacSignature(secret, timestamp, payload).toString('hex')}`;
}

const SIGNATURE_HEADER = /^v1=([0-9a-fA-F]{64})$/;
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
 * The presented signature's bytes when it matches one of the secrets, else undefined. Every secret is
 * tried (no early exit), and the comparison is constant-time.
 */
export function verifySignature(
  secrets: readonly string[],
  timestamp: string,
  payload: Buffer | string,
  header: string | undefined,
): Buffer | undefined {
  const hex = header ? SIGNATURE_HEADER.exec(header.trim())?.[1] : undefined;
  if (!hex) return undefined;
  const presented = Buffer.from(hex, 'hex');
  let valid = false;
  for (const secret of secrets) {
    if (timingSafeEqual(hmacSignature(secret, timestamp, payload), presented)) valid = true;
  }
  return valid ? presented : undefined;
}
