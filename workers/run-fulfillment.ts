// npm run worker: runs order workflows and their activities on TEMPORAL_TASK_QUEUE.
import { NativeConnection, Runtime } from '@temporalio/worker';
import { config } from '../lib/config';
import { logger, TemporalPinoLogger } from '../lib/logger';
import { createCodec } from '../lib/temporal';
import { createFulfillmentWorker } from './create';
import { fulfillmentDeps } from './deps';

async function main() {
  const cfg = config();
  const log = logger().child({ component: 'worker' });
  Runtime.install({ logger: new TemporalPinoLogger(logger().child({ component: 'temporal-sdk' })) });
  const deps = await fulfillmentDeps(cfg);
  const codec = createCodec(deps.transit);
  await codec.ready();
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const worker = await createFulfillmentWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    deps,
    // The worker's own Vault identity wraps and unwraps the codec's data keys.
    codec,
  });
  log.info({ taskQueue: cfg.TEMPORAL_TASK_QUEUE, address: cfg.TEMPORAL_ADDRESS }, 'worker started');
  try {
    await worker.run(); // returns after SIGINT/SIGTERM once in-flight tasks finished
  } finally {
    await connection.close();
    await deps.close();
    log.info('worker stopped');
  }
}

main().catch((err) => {
  logger().fatal({ err }, 'worker failed to start');
  process.exit(1);
});
