// npm run worker:retention: the retention sweep's worker, on TEMPORAL_RETENTION_TASK_QUEUE, with the
// retention Vault role (the only one allowed to destroy key buckets).
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createRetentionActivities } from '../activities/retention';
import { dataConverterWith } from '../lib/codec';
import { config, durationMs } from '../lib/config';
import { createPool } from '../lib/db';
import { logger, TemporalPinoLogger } from '../lib/logger';
import { ensureRetentionSchedule } from '../lib/schedule';
import { connectClient, createCodec } from '../lib/temporal';
import { connectVault } from '../lib/vault';

async function main() {
  const cfg = config();
  const log = logger().child({ component: 'retention-worker' });
  Runtime.install({ logger: new TemporalPinoLogger(logger().child({ component: 'temporal-sdk' })) });
  const db = createPool();
  const vault = await connectVault('retention');
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const codec = createCodec(vault.transit);
  const worker = await Worker.create({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_RETENTION_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    dataConverter: dataConverterWith(codec),
    activities: createRetentionActivities({
      db,
      vault,
      cardKeyPrefix: cfg.VAULT_CARD_KEY_PREFIX,
      retentionMs: durationMs(cfg.RETENTION),
      log,
    }),
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
    vault.close();
    await db.end();
  }
}

main().catch((err) => {
  logger().fatal({ err }, 'retention worker failed to start');
  process.exit(1);
});
