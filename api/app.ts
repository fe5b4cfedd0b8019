/**
 * The API as a Fastify instance, built from its dependencies so tests run it in-process against
 * the real database and Vault. One folder per surface, each a plugin with its own scope, limits and CORS:
 * delivery-links/ (the customer's emailed link), in-app/ (the customer app), intake/ (upstream systems),
 * codec-endpoint/ (operators' Temporal UI and CLI); http/ holds what they share.
 */
import formbody from '@fastify/formbody';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import type { Logger } from 'pino';
import type { OrderInput, ResendRequest } from '../contracts/order';
import type { ResendOutcome, StartedOrder } from '../domain/orders';
import type { Db } from '../lib/db';
import { logger as rootLogger } from '../lib/logger';
import type { Transit } from '../lib/vault';
import { type CodecEndpointSettings, codecRoutes } from './codec-endpoint/routes';
import { deliveryRoutes, type RetrievedEvent } from './delivery-links/routes';
import { addCustomerPages, type CustomerPageSettings } from './http/customer-page';
import { errorHandler, frameworkErrors, notFoundHandler } from './http/errors';
import { healthRoutes } from './http/health';
import { docsRoutes, registerOpenApi } from './http/openapi';
import { sendProblem } from './http/problems';
import { clientIp, createLimiters, type Limiter, registerRateLimits } from './http/rate-limits';
import { SafeLogController, serializeRequest } from './http/request-log';
import { addSecurityHeaders } from './http/security-headers';
import { traceRequests } from './http/tracing';
import { type InAppSettings, inAppRoutes } from './in-app/routes';
import { type IntakeSettings, intakeRoutes } from './intake/routes';

export interface AppDeps {
  db: Db;
  transit: Transit;
  logger?: Logger;
  publicBaseUrl: string;
  revealVisibleMs: number;
  rateLimitPerMinute: number;
  /**
   * Names the deployment this process serves: processes with the same scope on the same database share
   * their rate-limit counters (every replica of one API passes the same, API_LIMIT_SCOPE in production).
   */
  limitScope: string;
  onRetrieved?: (e: RetrievedEvent) => Promise<void>;
  /** Requests for unknown paths per client and minute, in each process (UNMATCHED_PER_MINUTE). */
  unmatchedPerMinute?: number;
  /** GET /healthz per client and minute, in each process (http/health.ts HEALTH_PER_MINUTE). */
  healthPerMinute?: number;
  /** The customer's pages: the business's default language and its brands (defaults: English, built-in look). */
  customerPages?: Partial<CustomerPageSettings>;
  /** Behind a reverse proxy, trust its X-Forwarded-For so rate limits and audit rows see the client's IP. */
  trustProxy?: false | number | string[];
  /** The in-app API (customer app JWTs, reveal keys); not served without it. */
  inApp?: InAppSettings;
  /** The Temporal codec endpoint under /codec (UI and CLI decoding); not served without it. */
  codec?: CodecEndpointSettings;
  /** The signed intake API; served only together with `startOrder`. */
  intake?: IntakeSettings;
  /** Starts an order idempotently (lib/orders startOrder on a Temporal client and task queue). */
  startOrder?: (input: OrderInput) => Promise<StartedOrder>;
  /** A new link through the order's own workflow (domain/orders resendLink): the intake's recipient route. */
  resendLink?: (orderId: string, request: ResendRequest) => Promise<ResendOutcome>;
}

/** The production API's limit scope: every replica counts in it. */
export const API_LIMIT_SCOPE = 'api';

/** Unknown paths per client and minute: a browser's favicon and robots.txt fit, a scanner does not. */
export const UNMATCHED_PER_MINUTE = 60;

// The link pages post no fields; anything larger than this is not a customer's browser.
const BODY_LIMIT = 16 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const publicOrigin = new URL(deps.publicBaseUrl).origin;
  /** Requests for no route, per client (below); undefined only until the app is built. */
  let unmatchedByIp: Limiter | undefined;
  const app = Fastify({
    loggerInstance: (deps.logger ?? rootLogger()).child(
      { component: 'api' },
      { serializers: { req: serializeRequest } },
    ) as FastifyBaseLogger,
    logController: new SafeLogController(),
    bodyLimit: BODY_LIMIT,
    // A hop count trusts that many proxies from this server outwards (Fastify's own number semantics).
    trustProxy:
      typeof deps.trustProxy === 'number'
        ? (_address: string, hop: number) => hop < (deps.trustProxy as number)
        : (deps.trustProxy ?? false),
    // A token is 43 characters and an order id at most 128; longer path parameters are rejected before
    // any handler runs.
    routerOptions: { maxParamLength: 128 },
    // Requests refused before routing (a bad percent-encoding, an over-long parameter) match no route
    // either: they spend the unmatched budget too, so a flood cannot step around it with a malformed path.
    frameworkErrors: (err, request, reply) => {
      if (!unmatchedByIp) return frameworkErrors(err, request, reply);
      unmatchedByIp(request, reply)
        .then(
          () => frameworkErrors(err, request, reply),
          (refusal: FastifyError) => frameworkErrors(refusal, request, reply),
        )
        .catch((failure: unknown) => {
          request.log.error({ err: failure }, 'could not answer a request refused before routing');
          if (!reply.sent) sendProblem(reply as FastifyReply, 500);
        });
    },
  });

  // First, so that every route registered after it gets its span.
  await traceRequests(app);
  app.decorate('publicOrigin', publicOrigin);
  addSecurityHeaders(app, { hsts: new URL(deps.publicBaseUrl).protocol === 'https:' });
  addCustomerPages(app, deps.customerPages ?? {});
  app.setErrorHandler(errorHandler);
  // Before the routes: their zod schemas validate, serialize and make the document.
  await registerOpenApi(app);
  await app.register(formbody, { bodyLimit: BODY_LIMIT });
  await registerRateLimits(app, deps.db, deps.limitScope);
  // An unknown path guesses nothing, but answering it is work on the event loop every route shares: each
  // client gets a budget of them (in this process), then 429.
  [unmatchedByIp] = await createLimiters(app, [
    {
      name: 'unmatched:ip',
      max: deps.unmatchedPerMinute ?? UNMATCHED_PER_MINUTE,
      key: clientIp,
      perProcess: true,
    },
  ]);
  app.setNotFoundHandler({ preHandler: unmatchedByIp }, notFoundHandler);

  await app.register(healthRoutes, { db: deps.db, perClientPerMinute: deps.healthPerMinute });
  await app.register(docsRoutes);
  await app.register(deliveryRoutes, {
    db: deps.db,
    transit: deps.transit,
    revealVisibleMs: deps.revealVisibleMs,
    rateLimitPerMinute: deps.rateLimitPerMinute,
    onRetrieved: deps.onRetrieved,
  });
  if (deps.codec) {
    const secureCookie = new URL(deps.publicBaseUrl).protocol === 'https:';
    await app.register(codecRoutes, { prefix: '/codec', db: deps.db, ...deps.codec, secureCookie });
  }
  if (deps.inApp) await app.register(inAppRoutes, { db: deps.db, transit: deps.transit, ...deps.inApp });
  if (deps.intake && deps.startOrder) {
    await app.register(intakeRoutes, {
      db: deps.db,
      startOrder: deps.startOrder,
      resendLink: deps.resendLink,
      ...deps.intake,
    });
  }

  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Origin of PUBLIC_BASE_URL: the address customers' links point at (for plugins that build links). */
    publicOrigin: string;
  }
}
