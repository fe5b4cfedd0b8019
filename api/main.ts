/**
 * Entry point: `npm run api`. Configuration is validated first (a bad variable stops start-up naming it),
 * then the API logs in to Vault with its own AppRole (decrypt only, DESIGN 3.7) and listens.
 */
import { config, durationMs } from '../lib/config';
import { createPool } from '../lib/db';
import { logger } from '../lib/logger';
import { defaultPolicy, startOrder } from '../lib/orders';
import { connectClient, createCodec } from '../lib/temporal';
import { connectVault } from '../lib/vault';
import { retrievedSignal } from '../workflows/order';
import { workflowIdFor } from '../workflows/types';
import { buildApp } from './app';
import { codecEndpointSettings } from './routes/codec';

// Past this, a stuck connection or Vault call no longer holds the process; the orchestrator is waiting.
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const cfg = config();
  const log = logger().child({ component: 'api' });
  // Checked before anything connects: without its secrets the codec endpoint would be open or useless.
  const codecSettings = codecEndpointSettings(cfg);
  const db = createPool();
  const vault = await connectVault('api');
  // One codec (and key cache) for the API's own client and the codec endpoint.
  const codec = createCodec(vault.transit);
  const temporal = await connectClient({ component: 'api', codec });

  const app = await buildApp({
    db,
    transit: vault.transit,
    logger: logger(),
    publicBaseUrl: cfg.PUBLIC_BASE_URL,
    revealVisibleMs: durationMs(cfg.REVEAL_VISIBLE),
    rateLimitPerMinute: cfg.RATE_LIMIT_PER_MINUTE,
    trustProxy: cfg.TRUST_PROXY,
    // The order's workflow learns of the retrieval (and purges at once when its policy says so).
    onRetrieved: ({ orderId, deliveryId }) =>
      temporal.workflow.getHandle(workflowIdFor(orderId)).signal(retrievedSignal, { deliveryId }),
    inApp: cfg.JWT_SECRET
      ? {
          jwt: { secret: cfg.JWT_SECRET, issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE },
          revealKeyTtlMs: durationMs(cfg.REVEAL_KEY_TTL),
          rateLimitPerMinute: cfg.RATE_LIMIT_PER_MINUTE,
        }
      : undefined,
    intake: cfg.INTAKE_CLIENTS
      ? {
          clients: cfg.INTAKE_CLIENTS,
          windowMs: durationMs(cfg.INTAKE_WINDOW),
          rateLimitPerMinute: cfg.INTAKE_RATE_LIMIT_PER_MINUTE,
          policyDefaults: defaultPolicy(cfg),
        }
      : undefined,
    startOrder: (input) => startOrder(temporal, input, cfg.TEMPORAL_TASK_QUEUE),
    codec: { ...codecSettings, codec },
  });
  if (!cfg.JWT_SECRET) log.warn('JWT_SECRET is not set: the in-app API is not served');
  if (!cfg.INTAKE_CLIENTS) log.warn('INTAKE_CLIENTS is not set: the intake API is not served');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'delivery API stopping');
    const force = setTimeout(() => {
      log.error('shutdown grace period over; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    app
      .close()
      .then(() => db.end())
      .then(() => temporal.connection.close())
      .then(
        () => {
          vault.close();
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  await app.listen({ host: cfg.API_HOST, port: cfg.API_PORT });
  log.info({ host: cfg.API_HOST, port: cfg.API_PORT }, 'delivery API listening');
}

main().catch((err: unknown) => {
  logger().fatal({ err }, 'delivery API could not start');
  process.exit(1);
});
