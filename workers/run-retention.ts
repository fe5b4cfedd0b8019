// npm run worker:retention: the retention sweep's worker, on TEMPORAL_RETENTION_TASK_QUEUE, with the
// retention Vault role (the only one allowed to destroy key buckets). It keeps the sweep's Schedule in step
// with the configuration at every start.
import { registerFleetGauges } from '../domain/fleet-gauges';
import { ensureRetentionSchedule } from '../domain/retention-schedule';
import { configFor, durationMs } from '../lib/config';
import { logger } from '../lib/logger';
import { connectClient, createCodec, temporalTarget } from '../lib/temporal';
import { startTracingFromConfig } from '../lib/tracing';
import { connectWorker } from './connect';
import { createRetentionWorker } from './create';
import { retentionDeps } from './deps';
import { installRuntime, serveWorkerOps } from './runtime';

async function main() {
  const cfg = configFor('retention-worker');
  const log = logger().child({ component: 'retention-worker' });
  installRuntime(cfg, 'retention-worker');
  const tracing = await startTracingFromConfig(cfg, 'giftcards-retention');
  const deps = await retentionDeps(cfg);
  const codec = createCodec(deps.vault.transit);
  await codec.ready();
  const target = temporalTarget(cfg); // its TLS files read once, for the worker and the client
  // Waits (saying so) while Temporal does not answer or cannot describe the namespace yet.
  const connection = await connectWorker(cfg, target);
  if (!connection) {
    await deps.close();
    await tracing?.shutdown();
    log.info('retention worker stopped while waiting for Temporal');
    return;
  }
  const workers = await createRetentionWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_RETENTION_TASK_QUEUE,
    shutdownGraceTime: cfg.WORKER_SHUTDOWN_GRACE,
    deps,
    codec,
  });
  const client = await connectClient({ component: 'retention', codec, target });
  const schedule = await ensureRetentionSchedule(client, {
    interval: cfg.RETENTION_SWEEP_INTERVAL,
    taskQueue: cfg.TEMPORAL_RETENTION_TASK_QUEUE,
    batchSize: cfg.RETENTION_SWEEP_BATCH,
  });
  await client.connection.close();
  registerFleetGauges(deps.db, durationMs(cfg.RETENTION_SWEEP_INTERVAL));
  const ops = await serveWorkerOps(cfg, { db: deps.db, vault: deps.vault, connection, workers });
  log.info({ taskQueue: cfg.TEMPORAL_RETENTION_TASK_QUEUE, schedule }, 'retention worker started');
  try {
    await workers.run();
  } finally {
    await ops.close();
    await connection.close();
    await deps.close();
    await tracing?.shutdown();
  }
}

main().catch((err) => {
  logger().fatal({ err }, 'retention worker failed to start');
  process.exit(1);
});
