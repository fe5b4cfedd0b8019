/**
 * The provider sandbox: an HTTP server that speaks the provider contract (DESIGN 4) and plays scripted
 * scenarios per order, plus a small `/sandbox` API for tests to register orders and see what was sent.
 *
 * It hands out card codes, so it follows the same rule as the rest of the pipeline: logs name the order,
 * the scenario, the poll and the status, never a card.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { createLogger } from '../lib/logger';
import {
  type Answer,
  createOrder,
  describeAnswer,
  markIssued,
  poll,
  type SandboxOrder,
  SCENARIOS,
  scenarioForOrderId,
} from './scenarios';

export interface SandboxOptions {
  apiKey: string;
  logger?: Logger;
}

// Orders live in memory; a cap keeps a long-running sandbox polled with random ids from growing forever.
const MAX_ORDERS = 10_000;
const MAX_QUANTITY = 10_000;

// barcodeFormat is passed through as given: a test may register one the contract refuses.
const cardInput = z.object({
  value: z.string().min(1).max(128),
  serial: z.string().min(1).max(128),
  barcodeFormat: z.string().min(1).max(32).optional(),
});

const registration = z
  .object({
    orderId: z.string().min(1).max(200),
    scenario: z.enum(SCENARIOS),
    quantity: z.number().int().min(0).max(MAX_QUANTITY).optional(),
    cards: z.array(cardInput).max(MAX_QUANTITY).optional(),
    processingPolls: z.number().int().min(0).max(1_000_000).optional(),
    retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    delayMs: z.number().int().min(0).max(600_000).optional(),
    failures: z.number().int().min(0).max(1_000_000).optional(),
  })
  .refine((r) => r.cards === undefined || r.quantity === undefined || r.cards.length <= r.quantity, {
    message: 'cards must not outnumber quantity',
    path: ['cards'],
  })
  .refine((r) => r.cards === undefined || new Set(r.cards.map((c) => c.value)).size === r.cards.length, {
    message: 'card values must be unique',
    path: ['cards'],
  });

type OrderParams = { Params: { orderId: string } };

export function buildSandbox(options: SandboxOptions): FastifyInstance {
  if (options.apiKey.length < 8) throw new Error('the sandbox API key must be at least 8 characters');
  const log = options.logger ?? createLogger({ name: 'provider-sandbox' });
  const keyDigest = digest(options.apiKey);
  const orders = new Map<string, SandboxOrder>();

  const app = Fastify({
    // Typed as Fastify's logger so the instance is a plain FastifyInstance for callers.
    loggerInstance: log as FastifyBaseLogger,
    // Fastify's per-request lines would add nothing over the poll line below.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 256 },
    bodyLimit: 8 * 1024 * 1024,
    // A sandbox has nothing to drain: closing it should not wait for clients' keep-alive sockets.
    forceCloseConnections: true,
  });

  const orderFor = (orderId: string): SandboxOrder => {
    let order = orders.get(orderId);
    if (!order) {
      order = createOrder(orderId, scenarioForOrderId(orderId));
      remember(order);
    }
    return order;
  };

  const remember = (order: SandboxOrder) => {
    orders.delete(order.orderId);
    orders.set(order.orderId, order);
    while (orders.size > MAX_ORDERS) {
      const oldest = orders.keys().next().value;
      if (oldest === undefined) break;
      orders.delete(oldest);
    }
  };

  // Request logging is off, so errors are logged here, by status and code only: a rejected body could
  // hold card values that a parser error message might quote.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const statusCode = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    request.log[statusCode >= 500 ? 'error' : 'warn'](
      // Not `code`: the shared logger redacts that key as a possible card code.
      { statusCode, errorCode: err.code },
      'sandbox request failed',
    );
    return reply.code(statusCode).send({ error: statusCode >= 500 ? 'internal error' : 'bad request' });
  });

  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/healthz') return;
    const presented = request.headers['x-api-key'];
    if (typeof presented !== 'string' || !timingSafeEqual(digest(presented), keyDigest)) {
      return reply.code(401).send({ error: 'unauthorized' });
    }
  });

  app.get('/healthz', async () => ({ ok: true }));

  app.get<OrderParams>('/v3/gift-cards/checkOrder/:orderId', async (request, reply) => {
    const order = orderFor(request.params.orderId);
    const answer = poll(order);
    request.log.info(
      { orderId: order.orderId, scenario: order.scenario, poll: order.polls, status: describeAnswer(answer) },
      'sandbox poll',
    );
    return respond(order, answer, request, reply);
  });

  app.post('/sandbox/orders', async (request, reply) => {
    const parsed = registration.safeParse(request.body);
    if (!parsed.success) {
      // Field names only: the rejected body may hold card values.
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || 'body'))];
      return reply.code(400).send({ error: 'invalid registration', fields });
    }
    const { orderId, scenario, ...rest } = parsed.data;
    const order = createOrder(orderId, scenario, rest);
    remember(order);
    request.log.info({ orderId, scenario, quantity: order.quantity }, 'sandbox order registered');
    return reply.code(201).send(view(order));
  });

  app.get<OrderParams>('/sandbox/orders/:orderId', async (request) => view(orderFor(request.params.orderId)));

  app.delete<OrderParams>('/sandbox/orders/:orderId', async (request, reply) => {
    orders.delete(request.params.orderId);
    return reply.code(204).send();
  });

  return app;
}

/** What the sandbox holds for an order: `cards` are all it will issue, `issued` those sent so far. */
function view(order: SandboxOrder) {
  return {
    orderId: order.orderId,
    scenario: order.scenario,
    quantity: order.quantity,
    polls: order.polls,
    polledAt: order.polledAt,
    cards: order.cards,
    issued: order.cards.slice(0, order.issued),
  };
}

async function respond(
  order: SandboxOrder,
  answer: Answer,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  switch (answer.type) {
    case 'order':
      // Counted here rather than at poll time: a delayed answer whose client gave up was never sent.
      markIssued(order, answer.cards.length);
      return reply.code(200).send({
        orderId: order.orderId,
        status: answer.status,
        quantity: order.quantity,
        cards: answer.cards,
      });
    case 'error':
      if (answer.retryAfterSeconds !== undefined)
        reply.header('retry-after', String(answer.retryAfterSeconds));
      return reply.code(answer.httpStatus).send({ error: answer.error });
    case 'raw':
      return reply.code(answer.httpStatus).type(answer.contentType).send(answer.body);
    case 'reset':
      reply.hijack();
      // An RST rather than a FIN: the client sees ECONNRESET, as with a proxy dropping the connection.
      request.raw.socket.resetAndDestroy();
      return reply;
    case 'delay': {
      // Stop waiting once the client has given up, so a closed test server is not held open for the delay.
      const gone = new AbortController();
      const onClose = () => gone.abort();
      request.raw.socket.once('close', onClose);
      try {
        await sleep(answer.ms, undefined, { signal: gone.signal });
      } catch {
        reply.hijack();
        return reply;
      } finally {
        request.raw.socket.off('close', onClose);
      }
      return respond(order, answer.after, request, reply);
    }
  }
}

function digest(text: string): Buffer {
  // Hashing first gives both sides the same length, which timingSafeEqual requires.
  return createHash('sha256').update(text, 'utf8').digest();
}
