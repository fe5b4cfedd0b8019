/**
 * Who sent an intake request, and did they sign it: named hooks that run before any route handler.
 *
 * - checkCallerAndTimestamp (onRequest): the caller (X-Intake-Client) must be known and the timestamp
 *   (X-Intake-Timestamp) inside the window, before the body is read.
 * - verifyIntakeSignature (preValidation, so before the route's schema looks at the request): the
 *   signature (X-Intake-Signature) over the body's bytes as sent, or for a GET over the request line, so a
 *   signature read off one order cannot fetch another; then the caller's own budget.
 *
 * The caller's own budget is spent only once its signature is verified, so nobody can exhaust it by naming
 * it in a header; only refused requests spend the overall budget, so no flood of forgeries stands in a
 * signed request's way (http/rate-limits.ts). Unknown caller, stale timestamp and bad signature get the
 * same 401.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { freshTimestamp, verifySignature } from '../../domain/signing';
import { sendError } from '../http/json-replies';
import { clientIp, createLimiters, everyone, type Limiter, overallMax } from '../http/rate-limits';
import type { SignedBy } from './accept';
import type { IntakeClients } from './clients';

declare module 'fastify' {
  interface FastifyRequest {
    /** The intake caller named by X-Intake-Client, once known and within its timestamp window. */
    intakeCaller: string;
    intakeTimestamp: string;
    /** The body's bytes as sent: what the signature covers. */
    intakeBody: Buffer | undefined;
    /** The verified signature's bytes (verifyIntakeSignature). */
    intakeSignature: Buffer;
  }
}

export interface IntakeAuthentication {
  clients: IntakeClients;
  windowMs: number;
  /** Per caller and per IP, per minute; refused requests overall get OVERALL_CLIENTS times this. */
  rateLimitPerMinute: number;
  /** Also the deprecated unlabelled `v1=` signature (INTAKE_ACCEPT_V1_SIGNATURES). */
  acceptV1Signatures?: boolean;
  bodyLimit: number;
}

/** Stands for a body that is not JSON: the route schema refuses it as `body`, after the signature check. */
const NOT_JSON = Symbol('not JSON');

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The verified sender of a request that passed verifyIntakeSignature. */
export function signedBy(request: FastifyRequest): SignedBy {
  return {
    caller: request.intakeCaller,
    timestamp: request.intakeTimestamp,
    signature: request.intakeSignature,
  };
}

/** On the intake's own scope (its plugin): its body parser, its limits and its two hooks. */
export async function authenticateIntake(app: FastifyInstance, opts: IntakeAuthentication): Promise<void> {
  const { clients } = opts;
  const max = opts.rateLimitPerMinute;
  const [byIp, refused, byCaller] = (await createLimiters(app, [
    { name: 'intake:ip', max, key: clientIp },
    { name: 'intake:overall', max: overallMax(max), key: everyone },
    { name: 'intake:caller', max, key: (request) => `caller:${request.intakeCaller}`, advertise: true },
  ])) as [Limiter, Limiter, Limiter];

  // JSON only, kept as the bytes the signature covers; form bodies and every other type get 415. A body
  // that is not JSON is not refused here: an unsigned request must get its 401 first.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: opts.bodyLimit },
    (request, raw: Buffer, done) => {
      request.intakeBody = raw;
      try {
        done(null, JSON.parse(raw.toString('utf8')));
      } catch {
        done(null, NOT_JSON);
      }
    },
  );
  app.decorateRequest('intakeCaller', '');
  app.decorateRequest('intakeTimestamp', '');
  app.decorateRequest('intakeBody', undefined);
  app.decorateRequest('intakeSignature', undefined as unknown as Buffer);

  const unauthorized = async (request: FastifyRequest, reply: FastifyReply) => {
    await refused(request, reply);
    reply.header('www-authenticate', 'HMAC-SHA256 realm="intake"');
    return sendError(reply, 401);
  };

  async function checkCallerAndTimestamp(request: FastifyRequest, reply: FastifyReply) {
    await byIp(request, reply);
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
  }

  async function verifyIntakeSignature(request: FastifyRequest, reply: FastifyReply) {
    const get = request.method === 'GET';
    const payload = get ? `GET ${request.raw.url ?? ''}` : request.intakeBody;
    if (payload === undefined) {
      sendError(reply, 415);
      return reply;
    }
    const { intakeCaller: caller, intakeTimestamp: timestamp } = request;
    const signature = verifySignature(
      clients.get(caller) ?? [],
      timestamp,
      payload,
      header(request, 'x-intake-signature'),
      { acceptV1: opts.acceptV1Signatures === true },
    );
    if (!signature) {
      request.log.warn({ caller }, get ? 'status refused: bad signature' : 'intake refused: bad signature');
      await unauthorized(request, reply);
      return reply;
    }
    request.intakeSignature = signature;
    await byCaller(request, reply);
  }

  app.addHook('onRequest', checkCallerAndTimestamp);
  app.addHook('preValidation', verifyIntakeSignature);
}
