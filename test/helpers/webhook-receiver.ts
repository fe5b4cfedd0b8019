/**
 * An upstream system's webhook endpoint, as a receiver would run it: it verifies every request with the
 * reference Standard Webhooks library (npm `standardwebhooks`, `new Webhook(secret).verify(body, headers)`)
 * and records what arrived. It answers `status` (settable: 200, 410, 500…), and can be stopped and started
 * again on the same port. Its secret is a fresh `whsec_` one unless given (an old-form secret is verified
 * as the `whsec_` secret it converts to: what a receiver of the deprecation period configures).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { WebhookEvent } from '../../contracts/order';
import { standardWebhookSecret } from '../../domain/signing';
import type { WebhookEndpoint } from '../../domain/webhooks';

export interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  rawBody: string;
  event: WebhookEvent;
  verified: boolean;
  answered: number;
}

export interface Receiver {
  url: string;
  /** The secret its library verifies with; during a rotation, one of the endpoint's two. */
  secret: string;
  /** What the next requests are answered with. */
  status: number;
  /** Every request, in arrival order, whatever it was answered. */
  requests: Received[];
  /** The events of one order this receiver acknowledged (2xx), in arrival order. */
  acknowledged(orderId: string): WebhookEvent[];
  /** This receiver as a caller's endpoint (secret, and 127.0.0.1 allowed: the test stack's address). */
  endpoint(extra?: Partial<WebhookEndpoint>): WebhookEndpoint;
  stop(): Promise<void>;
  /** Listens again on the same port (after stop). */
  start(): Promise<void>;
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Whether the reference library accepts the request (it throws on anything it refuses). */
export function verifiesWithStandardWebhooks(
  secret: string,
  rawBody: string,
  headers: IncomingHttpHeaders,
): boolean {
  try {
    new Webhook(standardWebhookSecret(secret)).verify(rawBody, headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

export async function startReceiver(secret = newWebhookSecret()): Promise<Receiver> {
  let server: Server | undefined;
  let port = 0;
  const receiver: Receiver = {
    url: '',
    secret,
    status: 200,
    requests: [],
    acknowledged(orderId) {
      return this.requests
        .filter((r) => r.event.orderId === orderId && r.answered >= 200 && r.answered < 300)
        .map((r) => r.event);
    },
    endpoint(extra = {}) {
      return { url: receiver.url, secrets: [secret], allowPrivate: ['127.0.0.1'], ...extra };
    },
    async stop() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async start() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const rawBody = Buffer.concat(chunks).toString('utf8');
          const verified = verifiesWithStandardWebhooks(receiver.secret, rawBody, req.headers);
          // A receiver refuses what it cannot verify; the sender then retries as for any other refusal.
          const answered = verified ? receiver.status : 401;
          receiver.requests.push({
            at: Date.now(),
            headers: req.headers,
            rawBody,
            event: JSON.parse(rawBody) as WebhookEvent,
            verified,
            answered,
          });
          res.writeHead(answered).end();
        });
      });
      const s = server;
      await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
      port = (s.address() as AddressInfo).port;
      receiver.url = `http://127.0.0.1:${port}/hooks/giftcards`;
    },
  };
  await receiver.start();
  return receiver;
}
