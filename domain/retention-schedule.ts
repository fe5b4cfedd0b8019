import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import {
  RETENTION_SCHEDULE_ID,
  RETENTION_SWEEP_WORKFLOW_TYPE,
  type SweepInput,
} from '../contracts/retention';

/**
 * Creates the retention sweep's Schedule, or updates it to these settings when it exists: running this
 * twice never fails. Overlap SKIP: a sweep still running when the next is due is never doubled.
 */
export async function ensureRetentionSchedule(
  client: Client,
  opts: { interval: string; taskQueue: string; batchSize: number; scheduleId?: string },
): Promise<'created' | 'updated'> {
  const scheduleId = opts.scheduleId ?? RETENTION_SCHEDULE_ID;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: RETENTION_SWEEP_WORKFLOW_TYPE,
    args: [{ batchSize: opts.batchSize }] as [SweepInput],
    taskQueue: opts.taskQueue,
    workflowId: `${scheduleId}-run`,
  };
  const spec = { intervals: [{ every: opts.interval as Duration }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' as const };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, policies }));
    return 'updated';
  }
}
