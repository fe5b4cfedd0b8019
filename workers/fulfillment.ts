import type { DataConverter } from '@temporalio/common';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities';

export interface FulfillmentWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /**
   * The payload codec's converter (lib/temporal codecDataConverter). Every worker on a real cluster passes
   * it; only tests on an ephemeral test server, whose client has no codec either, leave it out.
   */
  dataConverter?: DataConverter;
  /** A prebuilt bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** The worker that runs order workflows and their activities. */
export function createFulfillmentWorker(opts: FulfillmentWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(opts.deps),
    dataConverter: opts.dataConverter,
  });
}
