// The benchmark's baseline: a workflow of the order's shape with three no-op activities, run on the same
// server with the same worker settings, so the order's own cost can be read as a ratio.
import { proxyActivities } from '@temporalio/workflow';

export interface NoopActivities {
  first(id: string): Promise<void>;
  second(id: string): Promise<void>;
  third(id: string): Promise<void>;
}

const steps = proxyActivities<NoopActivities>({ startToCloseTimeout: '10 seconds' });

export async function threeSteps(id: string): Promise<void> {
  await steps.first(id);
  await steps.second(id);
  await steps.third(id);
}
