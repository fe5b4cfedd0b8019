/**
 * The API as a Fastify instance, built from its dependencies so tests run it in-process against
 * the real database and Vault. One folder per surface, each a plugin with its own scope, limits and CORS:
 * delivery-links/ (the customer's emailed link), in-app/ (the customer app), intake/ (upstream systems),
 * codec-endpoint/ (operators' Temporal UI and CLI); http/ holds what they share.
 */
import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
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
import { registerRateLimits } from './http/rate-limits';
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

// The link pages post no fields; anything larger than this is not a customer's browser.
const BODY_LIMIT = 16 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const publicOrigin = new URL(deps.publicBaseUrl).origin;
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
    frameworkErrors,
  });

  // First, so that every route registered after it gets its span.
  await traceRequests(app);
  app.decorate('publicOrigin', publicOrigin);
  addSecurityHeaders(app, { hsts: new URL(deps.publicBaseUrl).protocol === 'https:' });
  addCustomerPages(app, deps.customerPages ?? {});
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  await app.register(formbody, { bodyLimit: BODY_LIMIT });
  await registerRateLimits(app, deps.db, deps.limitScope);

  await app.register(healthRoutes, { db: deps.db });
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
