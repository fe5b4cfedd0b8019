// npm run retention -- --dry-run | --schedule | --trigger | --run
//   --dry-run   list what the next sweep would purge, delete and destroy, touching nothing
//   --schedule  create or update the retention Schedule (idempotent; the retention worker does it too)
//   --trigger   ask the Schedule to run a sweep now
//   --run       run one sweep now and print its counts
import { parseArgs } from 'node:util';
import { createRetentionActivities } from '../activities/retention';
import {
  RETENTION_SCHEDULE_ID,
  RETENTION_SWEEP_WORKFLOW_TYPE,
  type RetentionSweepWorkflow,
} from '../contracts/retention';
import { ensureRetentionSchedule } from '../domain/retention-schedule';
import { configFor } from '../lib/config';
import { connectClient } from '../lib/temporal';
import { retentionDeps } from '../workers/deps';

async function main() {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      schedule: { type: 'boolean', default: false },
      trigger: { type: 'boolean', default: false },
      run: { type: 'boolean', default: false },
    },
  });
  const cfg = configFor('retention-worker');
  if (values['dry-run']) {
    const deps = await retentionDeps(cfg);
    const plan = await createRetentionActivities(deps)
      .planSweep()
      .finally(() => deps.close());
    console.log('Dry run: nothing was changed. The next sweep would:');
    console.log(
      `  purge ${plan.dueOrders.length} order(s)${plan.dueOrders.length ? `: ${plan.dueOrders.join(', ')}` : ''}`,
    );
    console.log(`  delete ${plan.expiredTokens} expired token row(s)`);
    console.log(
      `  destroy ${plan.bucketsToDestroy.length} key bucket(s) ${plan.bucketsToDestroy.join(', ')}`,
    );
    console.log(`  create ${plan.bucketsToCreate.length} key bucket(s) ${plan.bucketsToCreate.join(', ')}`);
    return;
  }
  const client = await connectClient({ component: 'retention' });
  try {
    if (values.schedule) {
      const what = await ensureRetentionSchedule(client, {
        interval: cfg.RETENTION_SWEEP_INTERVAL,
        taskQueue: cfg.TEMPORAL_RETENTION_TASK_QUEUE,
        batchSize: cfg.RETENTION_SWEEP_BATCH,
      });
      console.log(`Schedule ${RETENTION_SCHEDULE_ID} ${what} (every ${cfg.RETENTION_SWEEP_INTERVAL}).`);
    } else if (values.trigger) {
      await client.schedule.getHandle(RETENTION_SCHEDULE_ID).trigger();
      console.log(
        `Schedule ${RETENTION_SCHEDULE_ID} triggered; follow it in ${cfg.TEMPORAL_UI_URL}/namespaces/${cfg.TEMPORAL_NAMESPACE}/schedules`,
      );
    } else if (values.run) {
      const counts = await client.workflow.execute<RetentionSweepWorkflow>(RETENTION_SWEEP_WORKFLOW_TYPE, {
        taskQueue: cfg.TEMPORAL_RETENTION_TASK_QUEUE,
        workflowId: `${RETENTION_SCHEDULE_ID}-manual-${Date.now()}`,
        args: [{ batchSize: cfg.RETENTION_SWEEP_BATCH }],
      });
      console.log(JSON.stringify(counts, null, 2));
    } else {
      console.log('usage: npm run retention -- --dry-run | --schedule | --trigger | --run');
      process.exitCode = 2;
    }
  } finally {
    await client.connection.close();
  }
}

main().catch((err) => {
  console.error(`retention: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
