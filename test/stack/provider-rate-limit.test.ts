/**
 * The provider's rate limit holds across the fleet: two workers share the provider task queue, whose rate
 * the Temporal server enforces (maxTaskQueueActivitiesPerSecond), so 50 orders in flight poll the provider
 * no faster than the limit, and every one of them still completes. The same orders without the limit poll
 * much faster: the limit, not the machine, holds the rate.
 */
import { describe, expect, it } from 'vitest';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';
import { sandboxOrder } from '../helpers/sandbox';

const LIMIT = 4; // requests per second, across both workers

async function runOrders(p: Pipeline, n: number) {
  const ids = Array.from({ length: n }, () => uniqueOrderId('instant'));
  await Promise.all(
    ids.map((orderId) => p.start({ orderId, userId: 'rate-user', email: uniqueRecipient() })),
  );
  const deadline = Date.now() + 90_000;
  for (;;) {
    const { rows } = await p.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1) AND outcome = 'DELIVERED'`,
      [ids],
    );
    if (rows[0]!.n === n) break;
    if (Date.now() > deadline) throw new Error(`${rows[0]!.n} of ${n} orders delivered in 90 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const times = (await Promise.all(ids.map(async (id) => (await sandboxOrder(id)).polledAt)))
    .flat()
    .sort((a, b) => a - b);
  const span = (times.at(-1)! - times[0]!) / 1000;
  let busiest = 0; // the most polls in any one second
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= 1000) i++;
    busiest = Math.max(busiest, j - i + 1);
  }
  // The sustained rate: after the first second, whose burst the limiter lets through (its bucket starts full).
  const after = times.filter((t) => t >= times[0]! + 1000);
  const sustained = after.length > 1 ? (after.length - 1) / ((after.at(-1)! - after[0]!) / 1000) : 0;
  return { polls: times.length, perSecond: (times.length - 1) / span, sustained, busiest, seconds: span };
}

describe('provider rate limit across workers', () => {
  it(`holds ${LIMIT} requests/s with 50 orders in flight on two workers, and every order completes`, async () => {
    const limited = await startPipeline({ providerMaxRps: LIMIT });
    await limited.addWorker();
    const unlimited = await startPipeline({ providerMaxRps: 1_000 });
    await unlimited.addWorker();
    try {
      const held = await runOrders(limited, 50);
      const free = await runOrders(unlimited, 50);
      console.log(
        `limit ${LIMIT}/s: ${held.polls} polls in ${held.seconds.toFixed(1)} s, ${held.sustained.toFixed(2)}/s after ` +
          `the first second, busiest second ${held.busiest}; without the limit: ${free.perSecond.toFixed(1)}/s, ` +
          `busiest second ${free.busiest}`,
      );
      expect(held.polls).toBeGreaterThanOrEqual(50);
      expect(held.sustained).toBeLessThanOrEqual(LIMIT * 1.1);
      // The server's limiter lets a short burst through (its bucket starts full), never a sustained excess.
      expect(held.busiest).toBeLessThanOrEqual(3 * LIMIT);
      expect(free.perSecond).toBeGreaterThan(3 * LIMIT);
    } finally {
      await limited.stop();
      await unlimited.stop();
    }
  }, 240_000);
});
