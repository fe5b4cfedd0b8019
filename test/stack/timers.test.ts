/**
 * The order's timers at their real defaults (24 h link, 30-day retention, 24 h deadline) on Temporal's
 * time-skipping test server. Activities are the real ones, against the real stack.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type OrderStatusView, statusQuery, workflowIdFor } from '../../contracts/order';
import { buildOrderInput, defaultPolicy } from '../../domain/orders';
import { config } from '../../lib/config';
import { createFulfillmentWorker, type WorkerGroup } from '../../workers/create';
import { fulfillmentDeps } from '../../workers/deps';
import { giftCardOrder } from '../../workflows/order';
import { uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';
import { sandboxOrder } from '../helpers/sandbox';
import { createTimeSkippingEnv } from '../helpers/time-skipping';

let env: TestWorkflowEnvironment;
let deps: Awaited<ReturnType<typeof fulfillmentDeps>>;
let worker: WorkerGroup;
let running: Promise<void>;
const taskQueue = `timers-${randomUUID()}`;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  deps = await fulfillmentDeps(config());
  worker = await createFulfillmentWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    providerMaxRps: config().PROVIDER_MAX_RPS,
    deps,
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await deps?.close();
  await env?.teardown();
});

function start(scenario: string) {
  const orderId = uniqueOrderId(scenario);
  // The real defaults: no policy override at all.
  const input = buildOrderInput(
    { orderId, userId: 'timer-user', email: uniqueRecipient() },
    defaultPolicy(config()),
  );
  expect(input.policy).toMatchObject({ linkTtl: '24h', retention: '30d', deadline: '24h' });
  return env.client.workflow
    .start(giftCardOrder, { taskQueue, workflowId: workflowIdFor(orderId), args: [input] })
    .then((handle) => ({ orderId, handle }));
}

async function until(get: () => Promise<OrderStatusView>, ok: (s: OrderStatusView) => boolean) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await get();
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`status never matched: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('timers at their real defaults', () => {
  it('the link expires after 24 h and the cards are purged 30 days after delivery', async () => {
    const t0 = Date.now();
    const { orderId, handle } = await start('instant');
    const status = () => handle.query(statusQuery);
    await until(status, (s) => s.phase === 'delivered');

    await env.sleep('23 hours');
    expect((await status()).deliveries[0]?.expired).toBe(false);
    await env.sleep('2 hours');
    await until(status, (s) => s.deliveries[0]?.expired === true);
    const tokens = await deps.db.query('SELECT expired_at FROM delivery_tokens WHERE order_id = $1', [
      orderId,
    ]);
    expect(tokens.rows[0].expired_at).not.toBeNull();

    await env.sleep('28 days');
    expect((await status()).phase).toBe('delivered');
    expect(
      (await deps.db.query('SELECT count(*)::int AS n FROM cards WHERE order_id = $1', [orderId])).rows[0].n,
    ).toBe(3);
    await env.sleep('2 days');
    const final = await handle.result();
    expect(final.phase).toBe('purged');
    expect(
      (await deps.db.query('SELECT count(*)::int AS n FROM cards WHERE order_id = $1', [orderId])).rows[0].n,
    ).toBe(0);
    expect(Date.now() - t0).toBeLessThan(90_000);
  });

  it('an order the provider never fulfils fails at the 24 h deadline', async () => {
    const { orderId, handle } = await start('never');
    const final = await handle.result();
    expect(final).toMatchObject({ outcome: 'FAILED', phase: 'purged', storedCards: 0 });
    expect(final.failureReason).toMatch(/deadline/);
    // 24 h of polling with backoff capped at 5 min (±20 % jitter): about 288 polls, not a few early ones.
    const { polls } = await sandboxOrder(orderId);
    expect(polls).toBeGreaterThan(200);
    expect(polls).toBeLessThan(400);
    // ...while the history records progress only: a few dozen events, not one or more per poll.
    const history = await handle.fetchHistory();
    expect(history.events?.length).toBeLessThan(60);
  });
});
