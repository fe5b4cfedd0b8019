/** A retention worker inside the test process, on its own task queue, with the retention Vault role. */
import { randomUUID } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createRetentionActivities } from '../../activities/retention';
import { config, durationMs } from '../../lib/config';
import { createPool } from '../../lib/db';
import { logger } from '../../lib/logger';
import { codecDataConverter } from '../../lib/temporal';
import { connectVault } from '../../lib/vault';

export async function startRetentionWorker() {
  const cfg = config();
  const db = createPool();
  const vault = await connectVault('retention');
  const activities = createRetentionActivities({
    db,
    vault,
    cardKeyPrefix: cfg.VAULT_CARD_KEY_PREFIX,
    retentionMs: durationMs(cfg.RETENTION),
    log: logger().child({ component: 'test-retention' }),
  });
  const taskQueue = `test-retention-${randomUUID()}`;
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    dataConverter: codecDataConverter(vault.transit),
    activities,
  });
  const running = worker.run();
  return {
    taskQueue,
    activities,
    vault,
    db,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      vault.close();
      await db.end();
    },
  };
}
