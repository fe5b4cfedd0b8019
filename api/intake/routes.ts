/**
 * `POST /v1/fulfillments`: upstream systems (checkout, order service) start an order (DESIGN 6).
 *
 *   X-Intake-Client: <caller>
 *   X-Intake-Timestamp: <unix seconds>
 *   X-Intake-Signature: v2=<hex HMAC-SHA256(secret, "giftcards-intake\n" + timestamp + "." + rawBody)>
 *   { "orderId": "...", "userId": "...", "email": "...", "policy": { ... } }
 *
 * 202 { workflowId, existing: false } when the order was started, 200 { ..., existing: true } when the
 * same caller sent the same request before (one workflow per order id). An order id belongs to the first
 * caller and request that intake accepted for it (bindings.ts): another caller, or the same order id with
 * any field changed, is 409, which says no more than a replay's 409 does. Refusals: 401 (unknown caller,
 * stale timestamp, bad signature, all alike), 409 (a signature seen before, an order id bound to another
 * caller or request), 413, 415, 400 (naming fields, never echoing values), 429. An `Idempotency-Key`
 * (idempotency.ts) makes a retry safe: the same key and body get the first answer again, the same key with
 * another body is 422, and while its first request is being carried out, 409. Every refusal is problem
 * details (http/problems.ts).
 *
 * Nothing from the body is logged but the order id; the email is PII and travels only in the workflow input.
 *
 * `GET /v1/fulfillments/:orderId`, signed the same way over the request line (`GET /v1/fulfillments/<id>`
 * as the payload), answers the caller that created the order with its status (api/intake/status.ts);
 * anyone else's order and an unknown one are the same 404.
 *
 * `POST /v1/fulfillments/:orderId/recipient`, signed like an order, { "orderId": "<the same>", "email":
 * "<corrected address>" }: the order's caller corrects a recipient the mail server refused (the status
 * says recipientRefused) and a new link goes out, the old one revoked. Through the order's own workflow
 * (its resendLink update: the address travels only inside the update's codec-encrypted arguments, and is
 * never logged or answered back); audited with the caller as actor. 200 { orderId, cardCount, expiresAt }
 * once sent, 202 while the mail server keeps saying "later", 422 invalid email when the mail server refused
 * the new address too, 409 when the order has nothing to send (purged, cancelled, over), 409 with a
 * `detail` when the order's recipient was not refused or every card was already revealed by a link (a
 * correction covers only cards no link revealed, DESIGN 3.13), 404 for anyone else's order and an unknown
 * one alike.
 *
 * The routes are thin: authentication.ts checks the caller and timestamp on arrival and the signature
 * before validation (named hooks), the route's schema (schemas.ts, which the OpenAPI document shows)
 * validates the body and path, accept.ts decides, and the handler turns its outcome into the answer.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  type OrderInput,
  type OrderPolicy,
  ResendRefusal,
  type ResendRefusalType,
  type ResendRequest,
} from '../../contracts/order';
import type { OrderIdPrefixes, PollBounds } from '../../domain/order-fences';
import type { ResendOutcome, StartedOrder } from '../../domain/orders';
import type { Db } from '../../lib/db';
import { sendError } from '../http/json-replies';
import { requesterOf } from '../http/requester';
import { acceptOrder, correctRecipient } from './accept';
import { authenticateIntake, signedBy } from './authentication';
import { type IntakeClients, parseIntakeClients } from './clients';
import { idempotencyPurger } from './idempotency';
import { replayLogPurger } from './replays';
import { correctRecipientSchema, orderStatusSchema, startOrderSchema } from './schemas';
import { fulfillmentStatus } from './status';

export interface IntakeSettings {
  /** INTAKE_CLIENTS ("caller:secret,...") or its parsed form. */
  clients: string | IntakeClients;
  windowMs: number;
  /** Per caller and per IP, per minute; refused requests overall get OVERALL_CLIENTS times this. */
  rateLimitPerMinute: number;
  /** What a request's policy leaves out. */
  policyDefaults: OrderPolicy;
  /** INTAKE_ORDER_ID_PREFIXES: a caller listed may claim only order ids under its prefix. */
  orderIdPrefixes?: OrderIdPrefixes;
  /** The bounds on every order's polling; default POLL_BOUNDS (tests against the sandbox poll faster). */
  pollBounds?: PollBounds;
  /** INTAKE_REQUEST_KEY: keys the fingerprint that binds an order id to its first caller and request. */
  requestKey: string;
  /**
   * INTAKE_ACCEPT_V1_SIGNATURES: also accept the deprecated unlabelled `v1=` signature (a deprecation
   * period only: under a secret the caller also verifies webhooks with, a webhook's old-form signature is
   * one). Default: `v2=` only.
   */
  acceptV1Signatures?: boolean;
}

export interface IntakeRoutesOptions extends IntakeSettings {
  db: Db;
  startOrder: (input: OrderInput) => Promise<StartedOrder>;
  /** A new link through the order's own workflow (domain/orders resendLink); without it, no recipient route. */
  resendLink?: (orderId: string, request: ResendRequest) => Promise<ResendOutcome>;
}

/** Why the order refused a correction (DESIGN 3.13), as the recipient route says it. */
const CORRECTION_REFUSED: Record<ResendRefusalType, string> = {
  [ResendRefusal.recipientNotRefused]:
    "the order's recipient was not refused: only a recipient the mail server refused can be corrected",
  [ResendRefusal.callerMayOnlyCorrect]: 'a caller may only correct a refused recipient',
  [ResendRefusal.nothingUnrevealed]:
    'every card of the order was already revealed by a link: a correction has nothing to send',
  [ResendRefusal.correctionUnderWay]: 'a correction of this order is already under way',
};

/** An order request is a few hundred bytes; this leaves room for a policy and then some. */
const INTAKE_BODY_LIMIT = 64 * 1024;

export async function intakeRoutes(app: FastifyInstance, opts: IntakeRoutesOptions): Promise<void> {
  const { db } = opts;
  const clients = typeof opts.clients === 'string' ? parseIntakeClients(opts.clients) : opts.clients;
  const purgeReplayLog = replayLogPurger(db, opts.windowMs);
  const purgeIdempotencyKeys = idempotencyPurger(db);
  // Who, when and the signature, before any handler sees the request (authentication.ts).
  await authenticateIntake(app, {
    clients,
    windowMs: opts.windowMs,
    rateLimitPerMinute: opts.rateLimitPerMinute,
    acceptV1Signatures: opts.acceptV1Signatures,
    bodyLimit: INTAKE_BODY_LIMIT,
  });

  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/v1/fulfillments',
    { bodyLimit: INTAKE_BODY_LIMIT, schema: startOrderSchema },
    async (request, reply) => {
      const signed = signedBy(request);
      const { caller } = signed;
      const { orderId } = request.body;
      let accepted: Awaited<ReturnType<typeof acceptOrder>>;
      try {
        accepted = await acceptOrder(opts, signed, request.body, request.headers['idempotency-key']);
      } catch (err) {
        request.log.error({ err, caller, orderId }, 'intake: order not started');
        return sendError(reply, 503);
      }
      switch (accepted.outcome) {
        case 'fenced':
          request.log.info({ caller, invalid: accepted.invalid }, 'intake refused: order outside its fences');
          // A fence's reasons are the domain's own sentences (a bound, the caller's own prefix): safe to say.
          return sendError(reply, 400, { invalid: accepted.invalid, detail: accepted.problems.join('; ') });
        case 'signatureReplayed':
          request.log.warn({ caller, orderId }, 'intake refused: replayed signature');
          return sendError(reply, 409);
        case 'conflict':
          // Which field differs, or whose the order is, is not said: not even in the log.
          request.log.warn(
            { caller, orderId },
            'intake refused: the order id belongs to another caller or request',
          );
          return sendError(reply, 409);
        case 'keyInFlight':
          request.log.info({ caller, orderId }, 'intake refused: idempotency key in flight');
          return sendError(reply, 409, {
            detail: 'a request with this Idempotency-Key is still being carried out',
          });
        case 'keyReused':
          request.log.warn(
            { caller, orderId },
            'intake refused: idempotency key reused with another request',
          );
          return sendError(reply, 422, { detail: 'this Idempotency-Key was used with another request' });
        case 'repeated':
          request.log.info({ caller, orderId }, 'intake: idempotent request answered again');
          return reply.code(accepted.answer.status as 200 | 202).send(accepted.answer.body as never);
      }
      await Promise.all([purgeReplayLog(), purgeIdempotencyKeys()]).catch((err: unknown) =>
        request.log.warn({ err }, 'intake replay log or idempotency key purge failed'),
      );
      const { answer, existing } = accepted;
      request.log.info(
        { caller, orderId, workflowId: (answer.body as { workflowId: string }).workflowId, existing },
        existing ? 'intake: order already started' : 'intake: order started',
      );
      return reply.code(answer.status as 200 | 202).send(answer.body as never);
    },
  );

  if (opts.resendLink) {
    const resend = opts.resendLink;
    routes.post(
      '/v1/fulfillments/:orderId/recipient',
      { bodyLimit: INTAKE_BODY_LIMIT, schema: correctRecipientSchema },
      async (request, reply) => {
        const correction = request.body;
        // The signature covers the body: the order it names must be the one in the path.
        if (correction.orderId !== request.params.orderId)
          return sendError(reply, 400, { invalid: ['orderId'] });
        const { orderId } = correction;
        const signed = signedBy(request);
        const { caller } = signed;
        const result = await correctRecipient({ db, resend }, signed, correction, {
          ...requesterOf(request),
          method: 'POST /v1/fulfillments/:orderId/recipient',
        });
        switch (result.outcome) {
          case 'signatureReplayed':
            return sendError(reply, 409);
          case 'notYours':
            request.log.warn(
              { caller, orderId },
              'recipient correction refused: not the caller of the order',
            );
            return sendError(reply, 404);
          case 'unavailable':
            request.log.error(
              { err: result.error, caller, orderId },
              'recipient correction: not carried out',
            );
            if (result.notForgotten)
              request.log.warn({ err: result.notForgotten }, 'intake: signature not forgotten');
            return sendError(reply, 503);
        }
        request.log.info(
          {
            caller,
            orderId,
            outcome: result.outcome,
            ...(result.outcome === 'rejected' && result.reason ? { reason: result.reason } : {}),
          },
          'recipient correction',
        );
        switch (result.outcome) {
          case 'sent': {
            const { cardCount, expiresAt } = result.result;
            return reply
              .header('cache-control', 'no-store')
              .send({ orderId, cardCount, expiresAt: new Date(expiresAt).toISOString() });
          }
          case 'pending':
            return reply.code(202).header('cache-control', 'no-store').send({ orderId, pending: true });
          case 'recipientRefused':
            return sendError(reply, 422, { invalid: ['email'] });
          default:
            return result.reason
              ? sendError(reply, 409, { detail: CORRECTION_REFUSED[result.reason] })
              : sendError(reply, 409);
        }
      },
    );
  }

  routes.get('/v1/fulfillments/:orderId', { schema: orderStatusSchema }, async (request, reply) => {
    const status = await fulfillmentStatus(db, request.params.orderId, request.intakeCaller);
    if (!status) return sendError(reply, 404);
    return reply.header('cache-control', 'no-store').send(status);
  });
}
