/**
 * The in-app API for the customer app (DESIGN 3.5): the signed-in user sees their own orders' cards, either
 * directly or through a one-time reveal key bound to a secret kept on the device (seed 003).
 *
 *   GET  /api/orders/:orderId/cards          the cards (owner only)
 *   POST /api/orders/:orderId/reveal-keys    { nonce, timestamp } → { revealKey, expiresAt }
 *   POST /api/orders/:orderId/cards/reveal   { revealKey, clientSecret, timestamp } → the cards, once
 *
 * Someone else's order is answered exactly like an order that does not exist, and before anything else
 * about the request is looked at, so the answers tell a caller nothing about other users' orders.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { orderIdSchema } from '../../domain/orders';
import { BARCODE_FORMATS } from '../../domain/provider';
import type { Db } from '../../lib/db';
import type { Transit } from '../../lib/vault';
import { notFoundHandler, validationFields } from '../http/errors';
import { sendError } from '../http/json-replies';
import { IN_APP_SECURITY, TAGS } from '../http/openapi';
import { problemResponses } from '../http/problems';
import { clientIp, createLimiters, everyone, overallMax } from '../http/rate-limits';
import { requesterOf } from '../http/requester';
import { createAuthenticator, type JwtSettings, sendUnauthorized } from './bearer-auth';
import { ownsOrder, revealOwnedCards } from './owned-orders';
import { isFreshTimestamp, issueRevealKey, redeemRevealKey } from './reveal-keys';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user (the JWT's subject), set for in-app routes only. */
    userId: string;
  }
}

export interface InAppSettings {
  jwt: JwtSettings;
  revealKeyTtlMs: number;
  /** Per IP and per user, per minute; unauthenticated requests overall get OVERALL_CLIENTS times this. */
  rateLimitPerMinute: number;
}

export interface InAppRoutesOptions extends InAppSettings {
  db: Db;
  transit: Pick<Transit, 'decryptBatch'>;
}

type OrderRequest = FastifyRequest<{ Params: { orderId: string } }>;

const timestamp = z.number().int().positive().max(1e11).describe('Unix seconds, within a minute of now');

const revealKeyRequest = z
  .object({
    nonce: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'hex HMAC-SHA256')
      .describe(
        'hex HMAC-SHA256(clientSecret, "nonce:" + timestamp): binds the key to a secret kept on the device',
      ),
    timestamp,
  })
  .meta({ id: 'RevealKeyRequest' });

const revealRequest = z
  .object({
    revealKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    clientSecret: z.string().min(16).max(512),
    timestamp,
  })
  .meta({ id: 'RevealRequest' });

const cardsSchema = z
  .object({
    orderId: z.string(),
    cards: z.array(
      z.object({
        value: z.string().describe('The card code: money, shown to its owner only'),
        serial: z.string(),
        barcodeFormat: z.enum(BARCODE_FORMATS).optional(),
      }),
    ),
  })
  .meta({ id: 'Cards' });

const revealKeySchema = z
  .object({ revealKey: z.string(), expiresAt: z.iso.datetime({ offset: true }) })
  .meta({ id: 'RevealKey' });

/**
 * The path as documented. Validation problems are attached, not answered (attachValidation): ownership is
 * decided first, so a malformed order id is the same 404 as another user's order.
 */
const params = z.object({ orderId: orderIdSchema });
const common = { tags: [TAGS.inApp], security: IN_APP_SECURITY, params };
const NOT_YOURS = { 404: "Not the user's order, or no such order: the same answer" };

const cardsRoute = {
  ...common,
  operationId: 'getCards',
  summary: "The signed-in user's cards of an order",
  response: { 200: cardsSchema, ...problemResponses([401, 404, 429, 503], NOT_YOURS) },
};
const revealKeyRoute = {
  ...common,
  operationId: 'issueRevealKey',
  summary: 'A one-time reveal key bound to a secret on the device',
  body: revealKeyRequest,
  response: { 201: revealKeySchema, ...problemResponses([400, 401, 404, 413, 415, 429], NOT_YOURS) },
};
const revealRoute = {
  ...common,
  operationId: 'revealCards',
  summary: 'The cards, once, for a reveal key and its device secret',
  body: revealRequest,
  response: {
    200: cardsSchema,
    ...problemResponses([400, 401, 403, 404, 410, 413, 415, 429, 503], {
      ...NOT_YOURS,
      403: 'The key is unknown, spent, expired or not bound to this secret, or the timestamp is stale',
      410: 'The cards were purged',
    }),
  },
};

export async function inAppRoutes(app: FastifyInstance, opts: InAppRoutesOptions): Promise<void> {
  const { db, transit } = opts;
  const authenticate = createAuthenticator(opts.jwt);
  const max = opts.rateLimitPerMinute;
  const [byIp, unauthenticated, byUser] = await createLimiters(app, [
    { name: 'in-app:ip', max, key: clientIp },
    { name: 'in-app:overall', max: overallMax(max), key: everyone },
    { name: 'in-app:user', max, key: (request) => `user:${request.userId}`, advertise: true },
  ]);

  app.decorateRequest('userId', '');
  // Limits by address come before the JWT is even parsed (guessing tokens is work for us too); the user's
  // own budget once we know who it is, so a stolen token used from many addresses is still held back. Only
  // refused JWTs spend the overall budget: a valid one never meets it (http/rate-limits.ts).
  app.addHook('onRequest', async (request, reply) => {
    await byIp!(request, reply);
    const auth = await authenticate(request.headers.authorization);
    if (!auth.ok) {
      await unauthenticated!(request, reply);
      request.log.info({ req: request, reason: auth.reason }, 'in-app request not authenticated');
      sendUnauthorized(reply, auth.reason);
      return reply;
    }
    request.userId = auth.userId;
    await byUser!(request, reply);
  });

  /** Ownership first: a foreign or missing order ends here, with the same answer as an unknown route. */
  const owned = async (request: OrderRequest, reply: FastifyReply): Promise<boolean> => {
    const { orderId } = request.params;
    if (orderIdSchema.safeParse(orderId).success && (await ownsOrder(db, orderId, request.userId)))
      return true;
    notFoundHandler(request, reply);
    return false;
  };

  app.get(
    '/api/orders/:orderId/cards',
    { schema: cardsRoute, attachValidation: true },
    async (request: OrderRequest, reply) => {
      if (!(await owned(request, reply))) return reply;
      const { orderId } = request.params;
      const result = await revealOwnedCards(db, transit, {
        orderId,
        userId: request.userId,
        requester: requesterOf(request),
        method: 'GET /api/orders/:orderId/cards',
      });
      if (result.outcome === 'unavailable') {
        request.log.error({ orderId, err: result.error }, 'card decryption failed');
        return sendError(reply, 503);
      }
      request.log.info({ orderId, count: result.cards.length }, 'cards shown in app');
      return { orderId, cards: result.cards };
    },
  );

  app.post(
    '/api/orders/:orderId/reveal-keys',
    { schema: revealKeyRoute, attachValidation: true },
    async (request: OrderRequest, reply) => {
      if (!(await owned(request, reply))) return reply;
      const { orderId } = request.params;
      if (request.validationError)
        return sendError(reply, 400, { invalid: validationFields(request.validationError) });
      const body = { data: request.body as z.infer<typeof revealKeyRequest> };
      if (!isFreshTimestamp(body.data.timestamp)) return sendError(reply, 400, { invalid: ['timestamp'] });

      const issued = await issueRevealKey(db, {
        orderId,
        userId: request.userId,
        nonce: Buffer.from(body.data.nonce, 'hex'),
        ttlMs: opts.revealKeyTtlMs,
        requester: requesterOf(request),
        method: 'POST /api/orders/:orderId/reveal-keys',
      });
      request.log.info({ orderId }, 'reveal key issued');
      return reply.code(201).send({ revealKey: issued.revealKey, expiresAt: issued.expiresAt.toISOString() });
    },
  );

  app.post(
    '/api/orders/:orderId/cards/reveal',
    { schema: revealRoute, attachValidation: true },
    async (request: OrderRequest, reply) => {
      if (!(await owned(request, reply))) return reply;
      const { orderId } = request.params;
      // Which part of a reveal was malformed is not said.
      if (request.validationError) return sendError(reply, 400);
      const body = { data: request.body as z.infer<typeof revealRequest> };
      // A stale timestamp, an unknown or spent key and a wrong secret all get the same refusal.
      if (!isFreshTimestamp(body.data.timestamp)) {
        request.log.info({ orderId, reason: 'stale timestamp' }, 'reveal refused');
        return sendError(reply, 403);
      }

      const result = await redeemRevealKey(db, transit, {
        orderId,
        userId: request.userId,
        revealKey: body.data.revealKey,
        clientSecret: body.data.clientSecret,
        timestamp: body.data.timestamp,
        requester: requesterOf(request),
        method: 'POST /api/orders/:orderId/cards/reveal',
      });
      switch (result.outcome) {
        case 'refused':
          request.log.info(
            { orderId },
            'reveal refused: key unknown, spent, expired or not bound to this secret',
          );
          return sendError(reply, 403);
        case 'purged':
          request.log.warn({ orderId }, 'reveal refused: the cards were purged');
          return sendError(reply, 410);
        case 'unavailable':
          request.log.error({ orderId, err: result.error }, 'card decryption failed; reveal key left unused');
          return sendError(reply, 503);
        case 'revealed':
          request.log.info({ orderId, count: result.cards.length }, 'cards revealed with a reveal key');
          return { orderId, cards: result.cards };
      }
    },
  );
}
