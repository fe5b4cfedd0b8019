// npm run bench:sweep [-- --orders 10000 --batch 500]
// Seeds N delivered orders that are past retention (3 card rows, a delivery and a token each, like real
// ones), then runs one retention sweep workflow on an in-process retention worker and prints how long
// the purge took. Uses the local stack (scripts/stack.sh up).
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { RETENTION_SWEEP_WORKFLOW_TYPE, type RetentionSweepWorkflow } from '../../contracts/retention';
import { configFor } from '../../lib/config';
import { createPool } from '../../lib/db';
import { createLogger, TemporalPinoLogger } from '../../lib/logger';
import { connectClient, connectionOptions, createCodec, temporalTarget } from '../../lib/temporal';
import { createRetentionWorker } from '../../workers/create';
import { retentionDeps } from '../../workers/deps';

async function main() {
  const { values } = parseArgs({
    options: { orders: { type: 'string', default: '10000' }, batch: { type: 'string', default: '500' } },
  });
  const n = Number(values.orders);
  const batchSize = Number(values.batch);
  Runtime.install({ logger: new TemporalPinoLogger(createLogger({ level: 'warn' })) });
  // A worker and a client in one process: the test processes' union of identities.
  const cfg = configFor('test');
  const db = createPool();
  const run = `bench-${randomUUID().slice(0, 8)}`;

  let t = Date.now();
  await db.query(
    `WITH o AS (
       INSERT INTO orders (order_id, user_id, workflow_id, provider_status, quantity, outcome, delivered_at, purge_after)
       SELECT $1 || '-' || i, 'bench', 'bench', 'FULFILLED', 3, 'DELIVERED', now() - interval '31 days',
              now() - interval '1 day'
       FROM generate_series(1, $2) AS i RETURNING order_id),
     c AS (
       INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
       SELECT order_id, order_id || ':' || k, 'vault:v1:' || md5(order_id || k), 'vault:v1:' || md5(k || order_id),
              'cards-bench' FROM o, generate_series(1, 3) AS k RETURNING id, order_id),
     d AS (
       INSERT INTO deliveries (id, order_id, kind, card_count, expires_at, sent_at)
       SELECT order_id || '#1', order_id, 'batch', 3, now() - interval '30 days', now() - interval '31 days'
       FROM o RETURNING id, order_id),
     dc AS (INSERT INTO delivery_cards (delivery_id, card_id) SELECT order_id || '#1', id FROM c)
     INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at)
     SELECT sha256(convert_to(d.id, 'UTF8')), d.id, d.order_id, now() + interval '1 day' FROM d`,
    [run, n],
  );
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
  const left = await db.query(`SELECT count(*)::int AS n FROM cards WHERE order_id LIKE $1 || '-%'`, [run]);
  console.log(
    `sweep: ${counts.ordersPurged} orders purged (${counts.cardsDeleted} cards, ${counts.tokensDeleted} tokens) in ${ms} ms`,
  );
  console.log(
    `  ${Math.round((counts.ordersPurged / ms) * 1000)} orders/s, batch size ${batchSize}; card rows left for this run: ${left.rows[0].n}`,
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
