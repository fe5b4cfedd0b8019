/**
 * Verifying a gift card order event, for receivers (Node.js 18+, no dependencies; drop the types for plain
 * JavaScript). Give it the raw body bytes exactly as received, before any JSON parsing, and your secret.
 * Then deduplicate by the X-Webhook-Id header: an event can arrive more than once (retries, replays).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function verifyGiftcardWebhook(opts: {
  secret: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer | string;
  /** How old a timestamp may be, either way: a captured request cannot be replayed after this. */
  toleranceSeconds?: number;
  nowMs?: number;
}): boolean {
  const timestamp = opts.headers['x-webhook-timestamp'];
  const signature = opts.headers['x-webhook-signature'];
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) return false;
  const ageSeconds = Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (ageSeconds > (opts.toleranceSeconds ?? 300)) return false;
  const match = /^v1=([0-9a-fA-F]{64})$/.exec(typeof signature === 'string' ? signature.trim() : '');
  if (!match?.[1]) return false;
  const expected = createHmac('sha256', opts.secret).update(`${timestamp}.`).update(opts.rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[1], 'hex'));
}
