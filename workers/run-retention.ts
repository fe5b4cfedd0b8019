// npm run worker:retention: the retention sweep's worker, on TEMPORAL_RETENTION_TASK_QUEUE, with the
// retention Vault role (the only one allowed to destroy key buckets). It keeps the sweep's Schedule in step
// with the configuration at every start.
import { NativeConnection, Runtime } from '@temporalio/worker';
import { ensureRetentionSchedule } from '../domain/retention-schedule';
import { config } from '../lib/config';
import { logger, TemporalPinoLogger } from '../lib/logger';
import { connectClient, createCodec } from '../lib/temporal';
import { createRetentionWorker } from './create';
import { retentionDeps } from './deps';

async function main() {
  const cfg = config();
  const log = logger().child({ component: 'retention-worker' });
  Runtime.install({ logger: new TemporalPinoLogger(logger().child({ component: 'temporal-sdk' })) });
  const deps = await retentionDeps(cfg);
  const codec = createCodec(deps.vault.transit);
  await codec.ready();
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const worker = await createRetentionWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_RETENTION_TASK_QUEUE,
    deps,
    codec,
  });
  const client = await connectClient({ component: 'retention', codec });
  const schedule = await ensureRetentionSchedule(client, {
    interval: cfg.RETENTION_SWEEP_INTERVAL,
    taskQueue: cfg.TEMPORAL_RETENTION_TASK_QUEUE,
    batchSize: cfg.RETENTION_SWEEP_BATCH,
  });
  await client.connection.close();
  log.info({ taskQueue: cfg.TEMPORAL_RETENTION_TASK_QUEUE, schedule }, 'retention worker started');
  try {
    await worker.run();
  } finally {
    await connection.close();
    await deps.close();
  }
}

main().catch((err) => {
  logger().fatal({ err }, 'retention worker failed to start');
  process.exit(1);
});
