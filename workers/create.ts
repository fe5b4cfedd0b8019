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
import { type OrderActivities, providerTaskQueue } from '../contracts/order';
import { workerDataConverterWith, workflowGuardPath } from '../lib/codec';
import { REFUSED_FAILURE_TYPE, refusedReason } from '../lib/payload-converter';
import { activeTracing } from '../lib/tracing';

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
  /**
   * A prebuilt bundle (tests build it once, test/helpers/workflow-bundle.ts, with the workflow interceptor
   * modules built in); otherwise the workflows are bundled at start, with the guard's and, when the process
   * traces, the tracing interceptors.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * On SIGTERM, how long running activities get to finish before they are cancelled and retried on another
   * worker (the deployment's termination grace period should be longer). Default 0: cancelled at once.
   */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
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
    ...codecOf(opts),
    ...interceptorsOf(opts, false),
    maxTaskQueueActivitiesPerSecond: opts.providerMaxRps,
    ...graceOf(opts),
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
    ...codecOf(opts),
    ...interceptorsOf(opts, true),
    ...graceOf(opts),
    ...WORKER_TUNING,
  });
}

/**
 * Every worker's interceptors: the payload guards, and when the process traces, the tracing ones (with the
 * sink its workflow spans leave the sandbox by). A prebuilt bundle has its workflow modules built in.
 */
function interceptorsOf(
  opts: { workflowBundle?: WorkerOptions['workflowBundle'] },
  runsWorkflows: boolean,
): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  const tracing = activeTracing()?.workerOptions;
  const workflowModules = [
    ...(WORKER_GUARDS.workflowModules ?? []),
    ...(tracing?.interceptors?.workflowModules ?? []),
  ];
  return {
    interceptors: {
      ...(runsWorkflows && !opts.workflowBundle ? { workflowModules } : {}),
      activity: [...(WORKER_GUARDS.activity ?? []), ...(tracing?.interceptors?.activity ?? [])],
    },
    ...(tracing?.sinks ? { sinks: tracing.sinks } : {}),
  };
}

const codecOf = (opts: { codec?: PayloadCodec }) =>
  opts.codec ? { dataConverter: workerDataConverterWith(opts.codec) } : {};

// Set only when given: an explicit undefined would replace the SDK's default.
const graceOf = (opts: { shutdownGraceTime?: WorkerOptions['shutdownGraceTime'] }) =>
  opts.shutdownGraceTime === undefined ? {} : { shutdownGraceTime: opts.shutdownGraceTime };

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
