// npm run worker: runs order workflows and their activities on TEMPORAL_TASK_QUEUE (and the provider's
// calls on its provider task queue).
import { configFor } from '../lib/config';
import { logger } from '../lib/logger';
import { createCodec } from '../lib/temporal';
import { startTracingFromConfig } from '../lib/tracing';
import { connectWorker } from './connect';
import { createFulfillmentWorker } from './create';
import { fulfillmentDeps } from './deps';
import { installRuntime, serveWorkerOps } from './runtime';

async function main() {
  const cfg = configFor('worker');
  const log = logger().child({ component: 'worker' });
  installRuntime(cfg, 'worker');
  const tracing = await startTracingFromConfig(cfg, 'giftcards-worker');
  const deps = await fulfillmentDeps(cfg);
  const codec = createCodec(deps.transit);
  await codec.ready();
  // Waits (saying so) while Temporal does not answer or cannot describe the namespace yet.
  const connection = await connectWorker(cfg);
  if (!connection) {
    await deps.close();
    await tracing?.shutdown();
    log.info('worker stopped while waiting for Temporal');
    return;
  }
  const workers = await createFulfillmentWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    providerMaxRps: cfg.PROVIDER_MAX_RPS,
    shutdownGraceTime: cfg.WORKER_SHUTDOWN_GRACE,
    deps,
    // The worker's own Vault identity wraps and unwraps the codec's data keys.
    codec,
  });
  const ops = await serveWorkerOps(cfg, { db: deps.db, vault: deps.vault, connection, workers });
  log.info({ taskQueue: cfg.TEMPORAL_TASK_QUEUE, address: cfg.TEMPORAL_ADDRESS }, 'worker started');
  try {
    await workers.run(); // returns after SIGINT/SIGTERM once in-flight tasks finished
  } finally {
    await ops.close();
    await connection.close();
    await deps.close();
    await tracing?.shutdown();
    log.info('worker stopped');
  }
}

main().catch((err) => {
  logger().fatal({ err }, 'worker failed to start');
  process.exit(1);
});
