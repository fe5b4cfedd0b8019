// npm run bench:throughput [-- --orders 200 --concurrency 50 --rounds 3]
// Instant-scenario orders through startOrder() on an in-process fulfillment worker (the real activities:
// provider sandbox, Vault, PostgreSQL, SMTP; the payload codec), C in flight at a time, timed from start to
// "link sent"; then, on the same server with the same worker settings, a workflow of three no-op
// activities, timed to its third step. Prints orders/s, p50 and p99 of both and their ratios, for each of
// R rounds (order and baseline alternate, so a noisy minute of the machine falls on both) and their
// median. Needs the stack up.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { buildOrderInput, defaultPolicy, startOrder } from '../../domain/orders';
import { workerDataConverterWith } from '../../lib/codec';
import { configFor } from '../../lib/config';
import { createLogger, TemporalPinoLogger } from '../../lib/logger';
import { connectClient, connectionOptions, createCodec, temporalTarget } from '../../lib/temporal';
import { createOrderWorkers, WORKER_GUARDS, WORKER_TUNING } from '../../workers/create';
import { fulfillmentDeps } from '../../workers/deps';
import type { NoopActivities } from './baseline/three-steps';
import { completions, drive, type Figures, linkSentActivities } from './shared';

async function main() {
  const { values } = parseArgs({
    options: {
      orders: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const n = Number(values.orders);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  Runtime.install({ logger: new TemporalPinoLogger(createLogger({ level: 'error' })) });
  // A worker and a client in one process: the test processes' union of identities.
  const cfg = configFor('test');
  const deps = await fulfillmentDeps(cfg);
  deps.log = createLogger({ level: 'warn' });
  const codec = createCodec(deps.transit);
  await codec.ready();
  const client = await connectClient({ component: 'api' });
  const connection = await NativeConnection.connect(connectionOptions(temporalTarget(cfg)));
  const run = randomUUID().slice(0, 8);
  // The baseline runs with the settings and guards of the order's workers (createOrderWorkers applies them).
  const base = {
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    interceptors: WORKER_GUARDS,
    ...WORKER_TUNING,
  };

  // The order, on the real activities; "link sent" is when the step that sent its link returns (the poll
  // that found it complete, or the deliver step).
  const sent = completions();
  const orderQueue = `bench-orders-${run}`;
  const orderWorker = await createOrderWorkers(
    {
      connection,
      namespace: cfg.TEMPORAL_NAMESPACE,
      taskQueue: orderQueue,
      providerMaxRps: cfg.PROVIDER_MAX_RPS,
      codec,
    },
    linkSentActivities(createActivities(deps), sent),
  );
  async function startOne(kind: string): Promise<number> {
    const orderId = `instant-${kind}-${run}-${randomUUID().slice(0, 8)}`;
    const input = buildOrderInput(
      { orderId, userId: 'bench', email: `bench-${randomUUID().slice(0, 8)}@example.test` },
      defaultPolicy(cfg),
    );
    const t0 = performance.now();
    const done = sent.wait(orderId);
    await startOrder(client, input, orderQueue);
    await done;
    return performance.now() - t0;
  }

  // The baseline: three no-op steps, same server, same worker settings, same codec.
  const third = completions();
  const noop: NoopActivities = {
    async first() {},
    async second() {},
    async third(id) {
      third.done(id);
    },
  };
  const noopQueue = `bench-noop-${run}`;
  const noopWorker = await Worker.create({
    ...base,
    taskQueue: noopQueue,
    workflowsPath: require.resolve('./baseline/three-steps'),
    dataConverter: workerDataConverterWith(codec),
    activities: noop,
  });
  async function startNoop(): Promise<number> {
    const id = `noop-${run}-${randomUUID().slice(0, 8)}`;
    const t0 = performance.now();
    const done = third.wait(id);
    await client.workflow.start('threeSteps', { taskQueue: noopQueue, workflowId: id, args: [id] });
    await done;
    return performance.now() - t0;
  }

  const fmt = (f: Figures) =>
    `${f.perSecond.toFixed(1).padStart(6)} orders/s   p50 ${Math.round(f.p50).toString().padStart(5)} ms   p99 ${Math.round(f.p99).toString().padStart(5)} ms`;
  const ratios = (o: Figures, b: Figures) => ({
    perSecond: o.perSecond / b.perSecond,
    p50: o.p50 / b.p50,
    p99: o.p99 / b.p99,
  });
  const fmtRatio = (r: Figures) =>
    `throughput ${r.perSecond.toFixed(2)}x   p50 ${r.p50.toFixed(2)}x   p99 ${r.p99.toFixed(2)}x`;
  console.log(
    `${n} workflows a round, ${concurrency} in flight, start -> link sent (order) / third step (baseline):`,
  );
  const measured: Figures[] = [];
  await orderWorker.runUntil(() =>
    noopWorker.runUntil(async () => {
      await warmUp(() => startOne('warm'), 5);
      await warmUp(() => startNoop(), 5);
      for (let round = 1; round <= rounds; round++) {
        const orders = await drive(n, concurrency, () => startOne('bench'));
        const baseline = await drive(n, concurrency, () => startNoop());
        console.log(`round ${round}`);
        console.log(`  order (instant)      ${fmt(orders)}`);
        console.log(`  three no-op steps    ${fmt(baseline)}`);
        const ratio = ratios(orders, baseline);
        console.log(`  ratio order/baseline  ${fmtRatio(ratio)}`);
        measured.push(ratio);
      }
    }),
  );
  const median = (pick: (r: Figures) => number) => {
    const sorted = measured.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  };
  console.log(
    `median of ${rounds} round(s)  ${fmtRatio({ perSecond: median((r) => r.perSecond), p50: median((r) => r.p50), p99: median((r) => r.p99) })}`,
  );
  await client.connection.close();
  await connection.close();
  await deps.close();
}

async function warmUp(one: () => Promise<number>, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, one));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
