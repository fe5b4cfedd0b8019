/**
 * An upstream system's webhook endpoint, as a receiver would run it: it verifies every request with the
 * documented verification code (docs/webhooks/verify-signature.ts) and records what arrived. It answers
 * `status` (settable: 200, 410, 500…), and can be stopped and started again on the same port.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '../../contracts/order';
import { verifyGiftcardWebhook } from '../../docs/webhooks/verify-signature';

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
  secret: string;
  /** What the next requests are answered with. */
  status: number;
  /** Every request, in arrival order, whatever it was answered. */
  requests: Received[];
  /** The events of one order this receiver acknowledged (2xx), in arrival order. */
  acknowledged(orderId: string): WebhookEvent[];
  stop(): Promise<void>;
  /** Listens again on the same port (after stop). */
  start(): Promise<void>;
}

export async function startReceiver(secret: string): Promise<Receiver> {
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
          const verified = verifyGiftcardWebhook({ secret, headers: req.headers, rawBody });
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
