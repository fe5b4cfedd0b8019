/**
 * The two kinds of worker, built from their settings so the entry points, the benchmarks and the tests
 * run the same thing. Each gets the activities of its kind only.
 */
import { ApplicationFailure, type PayloadCodec } from '@temporalio/common';
import {
  type ActivityInboundCallsInterceptor,
  type NativeConnection,
  Worker,
  type WorkerInterceptors,
  type WorkerOptions,
} from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities';
import { createRetentionActivities, type RetentionDeps } from '../activities/retention';
import { workerDataConverterWith, workflowGuardPath } from '../lib/codec';
import { REFUSED_FAILURE_TYPE, refusedReason } from '../lib/payload-converter';

export interface WorkerSettings<Deps> {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: Deps;
  /**
   * The payload codec (lib/temporal createCodec). Every worker on a real cluster passes it; only tests on an
   * ephemeral test server, whose client has no codec either, leave it out.
   */
  codec?: PayloadCodec;
  /** A prebuilt bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Settings every worker of the project runs with (the benchmark's baseline too, for a fair ratio). */
export const WORKER_TUNING = {
  // A worker that died still owns the sticky queue of the workflows it cached: their next task waits
  // this long there before any other worker may take it (the default is 10 s).
  stickyQueueScheduleToStartTimeout: '3s',
} as const;

/** An activity whose input the worker's codec refused (lib/workflow-guard.ts guards the workflow side). */
const refuseActivityInput: ActivityInboundCallsInterceptor = {
  async execute(input, next) {
    for (const arg of input.args) {
      const reason = refusedReason(arg);
      if (reason === undefined) continue;
      throw ApplicationFailure.create({
        message: `activity input refused: ${reason}`,
        type: REFUSED_FAILURE_TYPE,
        nonRetryable: true,
      });
    }
    return next(input);
  },
};

/**
 * Interceptors every worker runs with: a payload the codec refused is refused by name, never handed to
 * workflow or activity code. A prebuilt workflow bundle must carry `workflowGuardPath` itself
 * (`bundleWorkflowCode({ workflowInterceptorModules })`).
 */
export const WORKER_GUARDS: WorkerInterceptors = {
  workflowModules: [workflowGuardPath],
  activity: [() => ({ inbound: refuseActivityInput })],
};

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
    ...(opts.codec ? { dataConverter: workerDataConverterWith(opts.codec) } : {}),
    // A prebuilt bundle carries the workflow guard already (test/setup/workflow-bundle.ts).
    interceptors: opts.workflowBundle ? { activity: WORKER_GUARDS.activity } : WORKER_GUARDS,
    ...WORKER_TUNING,
  });
}
