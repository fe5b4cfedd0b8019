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
 * caller or request), 413, 415, 400 (naming fields, never echoing values), 429.
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
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type OrderInput,
  type OrderPolicy,
  ResendRefusal,
  type ResendRefusalType,
  type ResendRequest,
} from '../../contracts/order';
import type { OrderIdPrefixes, PollBounds } from '../../domain/order-fences';
import {
  checkOrderRequest,
  orderIdSchema,
  orderRequestDigest,
  type ResendOutcome,
  recipientCorrectionSchema,
  type StartedOrder,
} from '../../domain/orders';
import { freshTimestamp, verifySignature } from '../../domain/signing';
import { type Db, withTransaction } from '../../lib/db';
import { invalidFields } from '../../lib/validation';
import { audit } from '../../store/audit';
import { sendError } from '../http/json-replies';
import { clientIp, createLimiters, everyone, overallMax } from '../http/rate-limits';
import { requesterOf } from '../http/requester';
import { bindOrderRequest, boundCaller, keepBindingIfStartedBy } from './bindings';
import { type IntakeClients, parseIntakeClients } from './clients';
import { forgetSignature, recordSignature, replayLogPurger } from './replays';
import { fulfillmentStatus } from './status';

declare module 'fastify' {
  interface FastifyRequest {
    /** The intake caller named by X-Intake-Client, once known and within its timestamp window. */
    intakeCaller: string;
    intakeTimestamp: string;
  }
}

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
export const INTAKE_BODY_LIMIT = 64 * 1024;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function sendUnauthorized(reply: FastifyReply): FastifyReply {
  reply.header('www-authenticate', 'HMAC-SHA256 realm="intake"');
  return sendError(reply, 401);
}

/** Field paths come from the schema (unknown keys are reported on their parent), never from the body. */
function invalidRequestFields(body: unknown, schema: typeof recipientCorrectionSchema): string[] {
  const parsed = schema.safeParse(body);
  return parsed.success ? [] : invalidFields(parsed.error);
}

/** The JSON body, or undefined when it is not JSON. */
function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

export async function intakeRoutes(app: FastifyInstance, opts: IntakeRoutesOptions): Promise<void> {
  const { db } = opts;
  const clients = typeof opts.clients === 'string' ? parseIntakeClients(opts.clients) : opts.clients;
  const purgeReplayLog = replayLogPurger(db, opts.windowMs);
  const max = opts.rateLimitPerMinute;
  const [byIp, refused, byCaller] = await createLimiters(app, [
    { name: 'intake:ip', max, key: clientIp },
    { name: 'intake:overall', max: overallMax(max), key: everyone },
    { name: 'intake:caller', max, key: (request) => `caller:${request.intakeCaller}`, advertise: true },
  ]);

  // JSON only, kept as the bytes the signature covers; form bodies and every other type get 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: INTAKE_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );

  app.decorateRequest('intakeCaller', '');
  app.decorateRequest('intakeTimestamp', '');
  // Who and when are in the headers: an unknown caller or a stale timestamp is refused before the body is
  // read. The caller's own budget is spent only once its signature is verified (below), so nobody can
  // exhaust it by naming it in a header; only refused requests spend the overall budget, so no flood of
  // forgeries stands in a signed request's way (http/rate-limits.ts).
  const unauthorized = async (request: FastifyRequest, reply: FastifyReply) => {
    await refused!(request, reply);
    return sendUnauthorized(reply);
  };
  app.addHook('onRequest', async (request, reply) => {
    await byIp!(request, reply);
    const caller = header(request, 'x-intake-client');
    const timestamp = freshTimestamp(header(request, 'x-intake-timestamp'), opts.windowMs);
    if (!caller || !clients.has(caller) || !timestamp) {
      request.log.info(
        { req: request, knownCaller: Boolean(caller && clients.has(caller)) },
        'intake refused',
      );
      await unauthorized(request, reply);
      return reply;
    }
    request.intakeCaller = caller;
    request.intakeTimestamp = timestamp;
  });

  /** The signed body's bytes and the signature, or undefined once the reply is sent (401, 415). */
  async function signedBody(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ raw: Buffer; signature: Buffer } | undefined> {
    const raw = request.body;
    if (!Buffer.isBuffer(raw)) {
      sendError(reply, 415);
      return undefined;
    }
    const { intakeCaller: caller, intakeTimestamp: timestamp } = request;
    const signature = verifySignature(
      clients.get(caller) ?? [],
      timestamp,
      raw,
      header(request, 'x-intake-signature'),
      { acceptV1: opts.acceptV1Signatures === true },
    );
    if (!signature) {
      request.log.warn({ caller }, 'intake refused: bad signature');
      await unauthorized(request, reply);
      return undefined;
    }
    return { raw, signature };
  }

  app.post('/v1/fulfillments', { bodyLimit: INTAKE_BODY_LIMIT }, async (request, reply) => {
    const signed = await signedBody(request, reply);
    if (!signed) return reply;
    const { signature } = signed;
    const { intakeCaller: caller, intakeTimestamp: timestamp } = request;
    await byCaller!(request, reply);

    const body = parseJson(signed.raw);
    if (body === undefined) return sendError(reply, 400, { invalid: ['body'] });
    const checked = checkOrderRequest(body, opts.policyDefaults, {
      caller,
      orderIdPrefix: opts.orderIdPrefixes?.get(caller),
      pollBounds: opts.pollBounds,
    });
    if (!checked.ok) {
      const { invalid, problems, fenced } = checked;
      request.log.info({ caller, invalid, fenced }, 'intake refused: invalid order');
      // A fence's reasons are the domain's own sentences (a bound, the caller's own prefix): safe to say.
      return sendError(reply, 400, fenced ? { invalid, detail: problems.join('; ') } : { invalid });
    }
    const { input } = checked;
    const requestHash = orderRequestDigest(body, opts.requestKey);

    // The signature and the order id's binding are recorded in the same transaction as the start: if the
    // start fails, the caller's retry of the same request is neither a replay nor a conflict; while it
    // runs, a concurrent request for the same order id waits for the binding.
    let started: StartedOrder | 'replay' | 'conflict';
    try {
      started = await withTransaction(db, async (client) => {
        if (!(await recordSignature(client, { signature, caller, timestamp }))) return 'replay';
        const { orderId } = input;
        const binding = await bindOrderRequest(client, { orderId, caller, requestHash });
        if (binding === 'conflict') return 'conflict';
        const order = await opts.startOrder(input);
        if (binding === 'new' && order.existing && !(await keepBindingIfStartedBy(client, orderId, caller)))
          return 'conflict';
        return order;
      });
    } catch (err) {
      request.log.error({ err, caller, orderId: input.orderId }, 'intake: order not started');
      return sendError(reply, 503);
    }
    if (started === 'replay') {
      request.log.warn({ caller, orderId: input.orderId }, 'intake refused: replayed signature');
      return sendError(reply, 409);
    }
    if (started === 'conflict') {
      // Which field differs, or whose the order is, is not said: not even in the log.
      request.log.warn(
        { caller, orderId: input.orderId },
        'intake refused: the order id belongs to another caller or request',
      );
      return sendError(reply, 409);
    }

    await purgeReplayLog().catch((err: unknown) =>
      request.log.warn({ err }, 'intake replay log purge failed'),
    );
    request.log.info(
      { caller, orderId: input.orderId, workflowId: started.workflowId, existing: started.existing },
      started.existing ? 'intake: order already started' : 'intake: order started',
    );
    return reply
      .code(started.existing ? 200 : 202)
      .send({ workflowId: started.workflowId, existing: started.existing });
  });

  if (opts.resendLink) {
    const resend = opts.resendLink;
    app.post<{ Params: { orderId: string } }>(
      '/v1/fulfillments/:orderId/recipient',
      { bodyLimit: INTAKE_BODY_LIMIT },
      async (request, reply) => {
        const signed = await signedBody(request, reply);
        if (!signed) return reply;
        const { intakeCaller: caller, intakeTimestamp: timestamp } = request;
        await byCaller!(request, reply);

        const body = parseJson(signed.raw);
        if (body === undefined) return sendError(reply, 400, { invalid: ['body'] });
        const invalid = invalidRequestFields(body, recipientCorrectionSchema);
        if (invalid.length > 0) return sendError(reply, 400, { invalid });
        const correction = recipientCorrectionSchema.parse(body);
        // The signature covers the body: the order it names must be the one in the path.
        if (correction.orderId !== request.params.orderId)
          return sendError(reply, 400, { invalid: ['orderId'] });
        const { orderId } = correction;

        const fresh = await withTransaction(db, (client) =>
          recordSignature(client, { signature: signed.signature, caller, timestamp }),
        );
        if (!fresh) return sendError(reply, 409);
        if ((await boundCaller(db, orderId)) !== caller) {
          request.log.warn({ caller, orderId }, 'recipient correction refused: not the caller of the order');
          return sendError(reply, 404);
        }

        let result: Awaited<ReturnType<typeof resend>>;
        try {
          result = await resend(orderId, { recipient: correction.email, requestedBy: `caller:${caller}` });
        } catch (err) {
          // Not carried out (Temporal unreachable, say): 503, and the same request may come again.
          request.log.error({ err, caller, orderId }, 'recipient correction: not carried out');
          await forgetSignature(db, signed.signature).catch((e: unknown) =>
            request.log.warn({ err: e }, 'intake: signature not forgotten'),
          );
          return sendError(reply, 503);
        }
        await audit(db, {
          orderId,
          event: 'RESEND_REQUESTED',
          actor: `caller:${caller}`,
          method: 'POST /v1/fulfillments/:orderId/recipient',
          ...requesterOf(request),
          detail: {
            recipientChanged: true,
            outcome: result.outcome,
            ...(result.outcome === 'rejected' && result.reason ? { reason: result.reason } : {}),
          },
        });
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

  app.get<{ Params: { orderId: string } }>('/v1/fulfillments/:orderId', async (request, reply) => {
    const { intakeCaller: caller, intakeTimestamp: timestamp } = request;
    // The request line is what is signed, so a signature read off one order cannot fetch another.
    const signed = verifySignature(
      clients.get(caller) ?? [],
      timestamp,
      `GET ${request.raw.url ?? ''}`,
      header(request, 'x-intake-signature'),
      { acceptV1: opts.acceptV1Signatures === true },
    );
    if (!signed) {
      request.log.warn({ caller }, 'status refused: bad signature');
      return unauthorized(request, reply);
    }
    await byCaller!(request, reply);
    const orderId = orderIdSchema.safeParse(request.params.orderId);
    const status = orderId.success ? await fulfillmentStatus(db, orderId.data, caller) : undefined;
    if (!status) return sendError(reply, 404);
    return reply.header('cache-control', 'no-store').send(status);
  });
}
