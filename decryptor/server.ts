/**
 * The decryptor's HTTP surface, for the API only, on an internal address (DECRYPTOR_HOST, loopback in the
 * local stack): two POSTs, each taking a capability the customer presented to the API (the link's token,
 * or a reveal key and its client secret) and answering its cards, once. There is no route that takes a
 * card, an order or a delivery alone: anything but a consumable token or key decrypts nothing.
 *
 * Bodies hold tokens, keys and secrets, and answers hold cards: no request or body is logged, only the
 * outcome with the order and delivery ids.
 */
import { context, propagation } from '@opentelemetry/api';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DECRYPTOR_PATHS } from '../domain/decryptor-client';
import type { Db } from '../lib/db';
import { type CardTransit, consumeLink, redeemRevealKey } from './reveal';

const requester = z
  .object({ ip: z.string().min(1).max(64), userAgent: z.string().max(2048).optional() })
  .strict();
const capability = z.string().min(1).max(128);

const consumeBody = z
  .object({ token: capability, method: z.enum(['reveal', 'download']), requester })
  .strict();

const redeemBody = z
  .object({
    orderId: z.string().min(1).max(128),
    userId: z.string().min(1).max(256),
    revealKey: capability,
    clientSecret: z.string().min(16).max(512),
    timestamp: z.number().int().positive().max(1e11),
    requester,
    method: z.string().min(1).max(128),
  })
  .strict();

export interface DecryptorDeps {
  db: Db;
  transit: CardTransit;
  logger: Logger;
}

export async function buildDecryptor(deps: DecryptorDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'decryptor' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 4096,
  });
  // Whatever failed, the answer names no input (a body holds a token or a secret).
  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) request.log.error({ err: { type: err.name, message: err.message } }, 'request failed');
    return reply
      .code(status >= 400 && status < 600 ? status : 500)
      .send({ error: status < 500 ? 'Bad Request' : 'Internal Server Error' });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'Not Found' }));

  /**
   * A handler run in the trace the API's request carried (traceparent), so its log lines carry that
   * trace's id; without tracing, propagation is a no-op.
   */
  const inCallersTrace =
    (handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    (request: FastifyRequest, reply: FastifyReply) =>
      context.with(propagation.extract(context.active(), request.headers), () => handler(request, reply));

  app.post(
    DECRYPTOR_PATHS.consumeLink,
    inCallersTrace(async (request, reply) => {
      const body = consumeBody.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'Bad Request' });
      const result = await consumeLink(deps.db, deps.transit, body.data);
      const { cards: _cards, ...said } = result as typeof result & { cards?: unknown };
      request.log.info(
        {
          ...said,
          ...(result.outcome === 'retrieved' ? { count: result.cards.length } : {}),
          method: body.data.method,
        },
        'link presented',
      );
      return result;
    }),
  );

  app.post(
    DECRYPTOR_PATHS.redeemRevealKey,
    inCallersTrace(async (request, reply) => {
      const body = redeemBody.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'Bad Request' });
      const result = await redeemRevealKey(deps.db, deps.transit, body.data);
      request.log.info(
        {
          orderId: body.data.orderId,
          outcome: result.outcome,
          ...(result.outcome === 'revealed' ? { count: result.cards.length } : {}),
          ...(result.outcome === 'unavailable' ? { error: result.error } : {}),
        },
        'reveal key presented',
      );
      return result;
    }),
  );
  return app;
}
