/**
 * The delivery API as a Fastify instance, built from its dependencies so tests run it in-process against
 * the real database and Vault. Route groups are plugins: later ones (codec endpoint, in-app API, intake)
 * register beside the delivery routes with their own scope, limits and CORS.
 */
import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../lib/db';
import { logger as rootLogger } from '../lib/logger';
import type { StartedOrder } from '../lib/orders';
import type { Transit } from '../lib/vault';
import type { OrderInput } from '../workflows/types';
import { errorHandler, frameworkErrors, notFoundHandler } from './errors';
import { SafeLogController, serializeRequest } from './request-log';
import { type CodecEndpointSettings, codecRoutes } from './routes/codec';
import { deliveryRoutes, type RetrievedEvent } from './routes/delivery';
import { healthRoutes } from './routes/health';
import { type InAppSettings, inAppRoutes } from './routes/in-app';
import { type IntakeSettings, intakeRoutes } from './routes/intake';
import { addSecurityHeaders } from './security-headers';

export interface AppDeps {
  db: Db;
  transit: Transit;
  logger?: Logger;
  publicBaseUrl: string;
  revealVisibleMs: number;
  rateLimitPerMinute: number;
  onRetrieved?: (e: RetrievedEvent) => Promise<void>;
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
}

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

  app.decorate('publicOrigin', publicOrigin);
  addSecurityHeaders(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  await app.register(formbody, { bodyLimit: BODY_LIMIT });

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
    await app.register(codecRoutes, { prefix: '/codec', ...deps.codec, secureCookie });
  }
  if (deps.inApp) await app.register(inAppRoutes, { db: deps.db, transit: deps.transit, ...deps.inApp });
  if (deps.intake && deps.startOrder) {
    await app.register(intakeRoutes, { db: deps.db, startOrder: deps.startOrder, ...deps.intake });
  }

  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Origin of PUBLIC_BASE_URL: the address customers' links point at (for plugins that build links). */
    publicOrigin: string;
  }
}
