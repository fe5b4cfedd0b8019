// npm run bench:sweep [-- --orders 10000 --batch 500]
// Seeds N delivered orders that are past retention (3 card rows, a delivery and a token each, like real
// ones), then runs one retention sweep workflow on an in-process retention worker and prints how long
// the purge took. Uses the local stack (scripts/stack.sh up).
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { RETENTION_SWEEP_WORKFLOW_TYPE, type RetentionSweepWorkflow } from '../../contracts/retention';
import { configFor } from '../../lib/config';
import { createLogger, TemporalPinoLogger } from '../../lib/logger';
import { connectClient, connectionOptions, createCodec, temporalTarget } from '../../lib/temporal';
import { createRetentionWorker } from '../../workers/create';
import { retentionDeps } from '../../workers/deps';
import { cardsLeft, fixturePool, seedDueOrders } from './fixtures';

async function main() {
  const { values } = parseArgs({
    options: { orders: { type: 'string', default: '10000' }, batch: { type: 'string', default: '500' } },
  });
  const n = Number(values.orders);
  const batchSize = Number(values.batch);
  Runtime.install({ logger: new TemporalPinoLogger(createLogger({ level: 'warn' })) });
  // A worker and a client in one process: the test processes' union of identities.
  const cfg = configFor('test');
  const db = fixturePool();
  const run = `bench-${randomUUID().slice(0, 8)}`;

  let t = Date.now();
  await seedDueOrders(db, run, n);
  console.log(`seeded ${n} due orders (${3 * n} cards, ${n} tokens) in ${Date.now() - t} ms`);

  const deps = await retentionDeps(cfg);
  const taskQueue = `bench-retention-${run}`;
  const connection = await NativeConnection.connect(connectionOptions(temporalTarget(cfg)));
  const codec = createCodec(deps.vault.transit);
  const worker = await createRetentionWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue,
    deps,
    codec,
  });
  const client = await connectClient({ component: 'retention', codec });
  const counts = await worker.runUntil(async () => {
    t = Date.now();
    return client.workflow.execute<RetentionSweepWorkflow>(RETENTION_SWEEP_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: `${run}-sweep`,
      args: [{ batchSize, maxBatches: Math.ceil(n / batchSize) + 50 }],
    });
  });
  const ms = Date.now() - t;
  const left = await cardsLeft(db, run);
  console.log(
    `sweep: ${counts.ordersPurged} orders purged (${counts.cardsDeleted} cards, ${counts.tokensDeleted} tokens) in ${ms} ms`,
  );
  console.log(
    `  ${Math.round((counts.ordersPurged / ms) * 1000)} orders/s, batch size ${batchSize}; card rows left for this run: ${left}`,
  );
  await client.connection.close();
  await connection.close();
  await deps.close();
  await db.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
