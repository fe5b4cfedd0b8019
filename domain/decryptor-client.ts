/**
 * The decryptor's wire (decryptor/, DESIGN 3.7): what the API asks of the one process that may decrypt
 * cards, and the client it asks with. A request carries the capability the customer presented (the link's
 * token, or a reveal key with its client secret) and never a card id: the decryptor consumes that
 * capability and decrypts its cards in one database transaction, or decrypts nothing.
 *
 * The answers carry plaintext cards: the hop is loopback in the local stack and TLS in production
 * (lib/config.ts refuses anything else), and nothing here logs a body.
 */
import { createHmac } from 'node:crypto';
import { context, propagation } from '@opentelemetry/api';
import type { Card } from './cards';

export type RetrievalMethod = 'reveal' | 'download';

export interface Requester {
  ip: string;
  userAgent?: string;
}

export interface ConsumeLinkRequest {
  token: string;
  method: RetrievalMethod;
  requester: Requester;
}

type Known = { orderId: string; deliveryId: string; caller: string | null };

export type Retrieval =
  | ({ outcome: 'retrieved'; cards: Card[] } & Known)
  | { outcome: 'unknown'; caller?: undefined }
  | ({ outcome: 'gone' } & Known)
  | ({ outcome: 'purged' } & Known)
  /** Vault could not decrypt: the link was left unused. `error` is the decryptor's message, never a card. */
  | ({ outcome: 'unavailable'; error: string } & Known);

/**
 * The nonce a reveal key is bound to: the app keeps a random clientSecret on the device and sends only
 * `hex(HMAC-SHA256(clientSecret, "nonce:" + timestamp))` when it asks for a key (api/in-app/reveal-keys.ts).
 */
export function clientNonce(clientSecret: string, timestamp: number): Buffer {
  return createHmac('sha256', clientSecret).update(`nonce:${timestamp}`, 'utf8').digest();
}

export interface RedeemKeyRequest {
  orderId: string;
  userId: string;
  revealKey: string;
  clientSecret: string;
  timestamp: number;
  requester: Requester;
  /** The public route, for the audit row. */
  method: string;
}

export type Redemption =
  | { outcome: 'revealed'; cards: Card[] }
  /** Unknown, used, expired, another order's or user's key, or the wrong secret: one answer for all. */
  | { outcome: 'refused' }
  | { outcome: 'purged' }
  /** Every card of the order was shown in the app before: each is shown once. */
  | { outcome: 'spent' }
  | { outcome: 'unavailable'; error: string };

export interface Decryptor {
  consumeLink(request: ConsumeLinkRequest): Promise<Retrieval>;
  redeemRevealKey(request: RedeemKeyRequest): Promise<Redemption>;
}

/** The decryptor's paths, shared by its server and this client. */
export const DECRYPTOR_PATHS = {
  consumeLink: '/v1/links/consume',
  redeemRevealKey: '/v1/reveal-keys/redeem',
} as const;

class DecryptorError extends Error {
  override name = 'DecryptorError';
}

/**
 * The API's client: one keep-alive connection pool (fetch's), a deadline per request. A decryptor that
 * does not answer is an unavailable reveal (503, the link left as it was, or consumed and rolled back by
 * the decryptor's own transaction), never a hung request.
 */
export function decryptorClient(baseUrl: string, opts: { timeoutMs?: number } = {}): Decryptor {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const call = async <T>(path: string, body: object): Promise<T> => {
    // The reveal's trace goes along (W3C traceparent, when the process traces), so the decryptor's log
    // lines belong to the customer's request.
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    propagation.inject(context.active(), headers);
    let res: Response;
    try {
      res = await fetch(new URL(path, baseUrl), {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new DecryptorError(`the decryptor did not answer (${(err as Error).name})`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new DecryptorError(`the decryptor answered HTTP ${res.status}`);
    }
    return (await res.json()) as T;
  };
  return {
    consumeLink: (request) => call<Retrieval>(DECRYPTOR_PATHS.consumeLink, request),
    redeemRevealKey: (request) => call<Redemption>(DECRYPTOR_PATHS.redeemRevealKey, request),
  };
}
