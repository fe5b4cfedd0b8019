/**
 * Rate limits as ordered buckets over @fastify/rate-limit's stores: a request is checked against each bucket
 * in turn (per client first, then the route group's overall budget) and the first bucket that is full
 * answers 429 with Retry-After.
 *
 * Why not the plugin's own hooks: they mark a request as limited after the first bucket, so a second
 * (overall) bucket would never run, and a plugin-level hook runs before route-level ones, so an overall
 * bucket checked first would let one flooding client spend everyone's budget. Here a request refused by its
 * client's bucket is never counted against the overall one.
 */
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { metrics } from '../../lib/metrics';

export interface Bucket {
  /** Shows in the log line of a refusal: which budget ran out. */
  name: string;
  /** Requests per window. */
  max: number;
  windowMs?: number;
  /** Whose budget the request spends: an IP, a user, a caller, or one constant key for an overall bucket. */
  key: (request: FastifyRequest) => string;
  /** Sends X-RateLimit-* on allowed requests, so well-behaved clients can pace themselves. */
  advertise?: boolean;
}

export type Limiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * How many clients' worth of traffic a route group takes in total before it sheds load: an overall budget
 * that a botnet spreading guesses over many addresses runs into, while one noisy client never reaches it.
 */
export const OVERALL_CLIENTS = 100;

export function overallMax(perClientMax: number): number {
  return perClientMax * OVERALL_CLIENTS;
}

const ONE_MINUTE = 60_000;

export class RateLimited extends Error {
  override name = 'RateLimited';
  readonly statusCode = 429;
  readonly code = 'RATE_LIMITED';
  constructor(readonly bucket: string) {
    super('rate limit exceeded');
  }
}

/** The request's address as the limiter sees it: IPv6 by /64, so one host cannot rotate through its subnet. */
export function clientIp(request: FastifyRequest): string {
  return `ip:${normalizeIP(request.ip)}`;
}

/** One key for everyone: the route group's overall budget. */
export const everyone = (): string => 'all';

/** Builds one limiter per bucket; the plugin is registered in the calling scope for its stores only. */
export async function createLimiters(app: FastifyInstance, buckets: Bucket[]): Promise<Limiter[]> {
  if (!app.hasDecorator('createRateLimit')) await app.register(rateLimit, { global: false });
  return buckets.map((bucket) => {
    const check = app.createRateLimit({
      max: bucket.max,
      timeWindow: bucket.windowMs ?? ONE_MINUTE,
      keyGenerator: bucket.key,
    });
    return async (request, reply) => {
      const result = await check(request);
      if (result.isAllowed) return;
      if (result.isExceeded) {
        reply.header('retry-after', Math.max(1, result.ttlInSeconds));
        request.log.debug({ bucket: bucket.name }, 'rate limit exceeded');
        metrics.rateLimited.inc({ bucket: bucket.name });
        throw new RateLimited(bucket.name);
      }
      if (bucket.advertise) {
        reply.header('x-ratelimit-limit', result.max);
        reply.header('x-ratelimit-remaining', result.remaining);
        reply.header('x-ratelimit-reset', result.ttlInSeconds);
      }
    };
  });
}

/** Checks every bucket, in order, before anything else runs for the scope's routes. */
export async function limitRequests(app: FastifyInstance, buckets: Bucket[]): Promise<void> {
  const limiters = await createLimiters(app, buckets);
  app.addHook('onRequest', async (request, reply) => {
    for (const limit of limiters) await limit(request, reply);
  });
}
