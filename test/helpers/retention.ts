/** A retention worker inside the test process, on its own task queue, with the retention Vault role. */
import { randomUUID } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import { createRetentionActivities } from '../../activities/retention';
import { config } from '../../lib/config';
import { connectionOptions, createCodec, temporalTarget } from '../../lib/temporal';
import { createRetentionWorker } from '../../workers/create';
import { retentionDeps } from '../../workers/deps';

export async function startRetentionWorker() {
  const cfg = config();
  const deps = await retentionDeps(cfg);
  const taskQueue = `test-retention-${randomUUID()}`;
  const connection = await NativeConnection.connect(connectionOptions(temporalTarget(cfg)));
  const worker = await createRetentionWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue,
    deps,
    codec: createCodec(deps.vault.transit),
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  const running = worker.run();
  return {
    taskQueue,
    /** The same activities the worker runs, for tests that call a step directly. */
    activities: createRetentionActivities(deps),
    vault: deps.vault,
    db: deps.db,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await deps.close();
    },
  };
}
