/**
 * The two kinds of worker, built from their settings so the entry points, the benchmarks and the tests
 * run the same thing. Each gets the activities of its kind only.
 */
import type { DataConverter } from '@temporalio/common';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities';
import { createRetentionActivities, type RetentionDeps } from '../activities/retention';

export interface WorkerSettings<Deps> {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: Deps;
  /**
   * The payload codec's converter (lib/codec dataConverterWith). Every worker on a real cluster passes it;
   * only tests on an ephemeral test server, whose client has no codec either, leave it out.
   */
  dataConverter?: DataConverter;
  /** A prebuilt bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Settings every worker of the project runs with (the benchmark's baseline too, for a fair ratio). */
export const WORKER_TUNING = {
  // A worker that died still owns the sticky queue of the workflows it cached: their next task waits
  // this long there before any other worker may take it (the default is 10 s).
  stickyQueueScheduleToStartTimeout: '3s',
} as const;

/** Runs order workflows and their activities. */
export function createFulfillmentWorker(opts: WorkerSettings<ActivityDeps>): Promise<Worker> {
  return createWorker(opts, createActivities(opts.deps));
}

/** Runs the retention sweep and its activities. */
export function createRetentionWorker(opts: WorkerSettings<RetentionDeps>): Promise<Worker> {
  return createWorker(opts, createRetentionActivities(opts.deps));
}

function createWorker(opts: WorkerSettings<unknown>, activities: object): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities,
    dataConverter: opts.dataConverter,
    ...WORKER_TUNING,
  });
}
