/**
 * Entry point: `npm run api`. Builds the API from configuration (api/from-config.ts), listens, and on
 * SIGTERM/SIGINT stops taking requests and closes its connections within a grace period.
 */
import { configFor } from '../lib/config';
import { logger } from '../lib/logger';
import { startOpsServer } from '../lib/ops-server';
import { startTracingFromConfig } from '../lib/tracing';
import { apiFromConfig } from './from-config';

// Past this, a stuck connection or Vault call no longer holds the process; the orchestrator is waiting.
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const cfg = configFor('api');
  const log = logger().child({ component: 'api' });
  // Before anything connects: the Temporal client and the Fastify app are built traced or not.
  const tracing = await startTracingFromConfig(cfg, 'giftcards-api');
  const api = await apiFromConfig(cfg);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'delivery API stopping');
    setTimeout(() => {
      log.error('shutdown grace period over; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    api
      .close()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  await api.app.listen({ host: cfg.API_HOST, port: cfg.API_PORT });
  // The operators' listener (codec endpoint, ops API): its own address, never the customers' port.
  await api.internal.listen({ host: cfg.INTERNAL_HOST, port: cfg.INTERNAL_PORT! });
  // Metrics and readiness on their own port, never the public one.
  if (cfg.OPS_PORT) await startOpsServer({ host: cfg.OPS_HOST, port: cfg.OPS_PORT, checks: api.readiness });
  log.info(
    { host: cfg.API_HOST, port: cfg.API_PORT, internalPort: cfg.INTERNAL_PORT, opsPort: cfg.OPS_PORT },
    'delivery API listening',
  );
}

main().catch((err: unknown) => {
  logger().fatal({ err }, 'delivery API could not start');
  process.exit(1);
});
