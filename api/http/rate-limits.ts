/**
 * Rate limits as named buckets over @fastify/rate-limit, counted in PostgreSQL (rate-limit-store.ts): every
 * API process of a deployment spends the same budgets, so N replicas do not give N times the budget and a
 * restart resets nothing.
 *
 * Two kinds of bucket, and which requests each may refuse:
 * - Per client: an address before authentication (every request counts), then the user or intake caller
 *   once authenticated. Nobody else's traffic spends a client's budget.
 * - Overall, per route group: counts only requests that fail authentication (an unknown link token, a
 *   refused JWT, an unknown intake caller or a bad signature) and only ever refuses such a request, with a
 *   429 where it would have had a 401 or 404. A request holding a valid link token or valid credentials
 *   never meets an overall bucket, so no number of addresses can spend a customer's access. An overall
 *   budget checked before authentication would be everyone's, and about OVERALL_CLIENTS addresses could
 *   lock every customer out. What the overall bucket still does is tell a distributed flood to back off and
 *   show it (`giftcards_rate_limited_requests_total{bucket="…:overall"}`). Guessing is held back per
 *   client; no rate of guessing finds a 256-bit link token, an HMAC-signed JWT or an intake signature.
 *
 * Client addresses (request.ip, which honours TRUST_PROXY): IPv4 by address; IPv6 by its /64, the
 * smallest block a provider hands one subscriber, so one host cannot rotate through its 2^64 addresses for
 * fresh budgets; IPv4-mapped IPv6 as the IPv4 address. Clients sharing one IPv4 address (NAT) or one /64
 * share one budget.
 *
 * Per process, not shared: the budgets that guard the event loop against requests that guess nothing,
 * unmatched routes (api/app.ts) and /healthz (health.ts), per client as above, counted in memory.
 *
 * Why not the plugin's own hooks: they mark a request as limited after its first bucket, so a later one
 * would never run; here each bucket is a limiter the routes call where it belongs.
 */
import rateLimit, { type CreateRateLimitOptions, normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../lib/db';
import { metrics } from '../../lib/metrics';
import { type BucketOption, postgresCounters } from './rate-limit-store';

export interface Bucket {
  /** Names the budget: the key of its counters, and the label of a refusal's log line and metric. */
  name: string;
  /** Requests per window. */
  max: number;
  windowMs?: number;
  /** Whose budget the request spends: an IP, a user, a caller, or one constant key for an overall bucket. */
  key: (request: FastifyRequest) => string;
  /** Sends X-RateLimit-* on allowed requests, so well-behaved clients can pace themselves. */
  advertise?: boolean;
  /**
   * Counted in this process's memory (the plugin's own LRU store), not in PostgreSQL: for budgets that
   * protect the process itself (its event loop), where a shared count would cost a database write per
   * request and buy nothing, since no guess is being made that N replicas would multiply.
   */
  perProcess?: boolean;
}

export type Limiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * How many clients' worth of failed authentications a route group takes in total before it answers them
 * with 429: a flood spread over many addresses runs into it, one noisy client never does.
 */
export const OVERALL_CLIENTS = 100;

export function overallMax(perClientMax: number): number {
  return perClientMax * OVERALL_CLIENTS;
}

const ONE_MINUTE = 60_000;

class RateLimited extends Error {
  override name = 'RateLimited';
  readonly statusCode = 429;
  readonly code = 'RATE_LIMITED';
  constructor(readonly bucket: string) {
    super('rate limit exceeded');
  }
}

/** The request's address as the limiter sees it: IPv4 by address, IPv6 by /64 (see above). */
export function clientIp(request: Pick<FastifyRequest, 'ip'>): string {
  const ip = normalizeIP(request.ip, 64);
  return ip.includes(':') ? `ip:${ip}/64` : `ip:${ip}`;
}

/** One key for everyone: the route group's overall bucket. */
export const everyone = (): string => 'all';

/**
 * The plugin once for the whole app, on the shared counters: every scope's limiters come from it.
 * `scope` names the deployment (every replica passes the same one).
 */
export async function registerRateLimits(app: FastifyInstance, db: Db, scope: string): Promise<void> {
  const counters = postgresCounters(db, scope);
  await app.register(rateLimit, { global: false, store: counters.store });
  app.addHook('onClose', counters.close);
}

/** One limiter per bucket; each throws RateLimited (429 with Retry-After) once its bucket is spent. */
export async function createLimiters(app: FastifyInstance, buckets: Bucket[]): Promise<Limiter[]> {
  if (!app.hasDecorator('createRateLimit')) {
    throw new Error('rate limits need registerRateLimits() on the app first (api/app.ts)');
  }
  return buckets.map((bucket) => {
    // The bucket name rides along to the store's child, which keys its counters by it.
    const options: CreateRateLimitOptions & BucketOption = {
      max: bucket.max,
      timeWindow: bucket.windowMs ?? ONE_MINUTE,
      keyGenerator: bucket.key,
      bucket: bucket.name,
      perProcess: bucket.perProcess ?? false,
    };
    const check = app.createRateLimit(options);
    // One refusal per bucket, thrown every time: a flood's thousands of 429s a second capture no stack
    // each (nothing reads it; the error handler answers by status).
    const refusal = new RateLimited(bucket.name);
    return async (request, reply) => {
      const result = await check(request);
      if (result.isAllowed) return;
      if (result.isExceeded) {
        reply.header('retry-after', Math.max(1, result.ttlInSeconds));
        request.log.debug({ bucket: bucket.name }, 'rate limit exceeded');
        metrics.rateLimited.inc({ bucket: bucket.name });
        throw refusal;
      }
      if (bucket.advertise) {
        reply.header('x-ratelimit-limit', result.max);
        reply.header('x-ratelimit-remaining', result.remaining);
        reply.header('x-ratelimit-reset', result.ttlInSeconds);
      }
    };
  });
}
