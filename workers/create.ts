/**
 * The two kinds of worker, built from their settings so the entry points, the benchmarks and the tests
 * run the same thing. Each gets the activities of its kind only.
 */
import type { DataConverter } from '@temporalio/common';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities';
import { createRetentionActivities, type RetentionDeps } from '../activities/retention';
import { type OrderActivities, providerTaskQueue } from '../contracts/order';
import { activeTracing } from '../lib/tracing';

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
  /**
   * A prebuilt bundle (tests build it once); otherwise the workflows are bundled at start, with the tracing
   * interceptors when the process traces (a prebuilt bundle would need them built in: lib/tracing-sdk.ts).
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Settings every worker of the project runs with (the benchmark's baseline too, for a fair ratio). */
export const WORKER_TUNING = {
  // A worker that died still owns the sticky queue of the workflows it cached: their next task waits
  // this long there before any other worker may take it (the default is 10 s).
  stickyQueueScheduleToStartTimeout: '3s',
} as const;

/**
 * The order workflows and their steps, on two task queues: the provider's calls (collect) on their own,
 * polled with the provider's rate limit (PROVIDER_MAX_RPS; the server enforces it across every worker),
 * everything else on the order's.
 */
export function createFulfillmentWorker(
  opts: WorkerSettings<ActivityDeps> & { providerMaxRps: number },
): Promise<WorkerGroup> {
  return createOrderWorkers(opts, createActivities(opts.deps));
}

/** The same two workers around any implementation of the steps (the benchmark's, the unit tier's stubs). */
export async function createOrderWorkers(
  opts: Omit<WorkerSettings<unknown>, 'deps'> & { providerMaxRps: number },
  activities: OrderActivities,
): Promise<WorkerGroup> {
  const { collect, ...rest } = activities;
  const orders = await createWorker(opts, rest);
  const provider = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: providerTaskQueue(opts.taskQueue),
    activities: { collect },
    dataConverter: opts.dataConverter,
    maxTaskQueueActivitiesPerSecond: opts.providerMaxRps,
    ...activeTracing()?.workerOptions,
  });
  return new WorkerGroup([orders, provider]);
}

/** Runs the retention sweep and its activities. */
export async function createRetentionWorker(opts: WorkerSettings<RetentionDeps>): Promise<WorkerGroup> {
  return new WorkerGroup([await createWorker(opts, createRetentionActivities(opts.deps))]);
}

function createWorker(opts: Omit<WorkerSettings<unknown>, 'deps'>, activities: object): Promise<Worker> {
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
    // Traced: workflow and activity spans, children of the span that started the workflow.
    ...activeTracing()?.workerOptions,
  });
}

/**
 * Workers of one process that live and die together: run() ends when all have drained after shutdown(),
 * and a worker that fails takes the others down with it rather than leave a half-working process.
 */
export class WorkerGroup {
  constructor(readonly workers: Worker[]) {}

  async run(): Promise<void> {
    const results = await Promise.allSettled(
      this.workers.map((w) =>
        w.run().catch((err) => {
          this.shutdown();
          throw err;
        }),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** Runs the workers until fn settles, then drains them; fn's result. */
  async runUntil<R>(fn: () => Promise<R>): Promise<R> {
    const running = this.run();
    try {
      return await fn();
    } finally {
      this.shutdown();
      await running;
    }
  }

  /** Every worker polls (for /readyz). */
  get running(): boolean {
    return this.workers.every((w) => w.getState() === 'RUNNING');
  }
}
