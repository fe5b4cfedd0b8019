/**
 * What the benchmarks share: driving N jobs C at a time into throughput and latency figures, knowing when
 * an order's link was sent (the step that sent it returns), and seeding delivered orders past retention
 * for a sweep to purge.
 */
import type { OrderActivities } from '../../contracts/order';

export interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * Runs `n` jobs, `concurrency` at a time, starting none once `stop` says so; each resolves with its
 * latency in ms. `done`: how many ran; `ms`: how long they took.
 */
export async function drive(
  n: number,
  concurrency: number,
  job: (i: number) => Promise<number>,
  opts: { progress?: (done: number, ms: number) => void; stop?: (ms: number) => boolean } = {},
): Promise<Figures & { ms: number; done: number }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const more = () => next < n && !opts.stop?.(performance.now() - t0);
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (more()) {
        latencies.push(await job(next++));
        opts.progress?.(latencies.length, performance.now() - t0);
      }
    }),
  );
  const ms = performance.now() - t0;
  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const done = latencies.length;
  return { perSecond: done / (ms / 1000), p50: at(0.5), p99: at(0.99), ms, done };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/** Resolves when `key` is marked done by an activity running in this process. */
export function completions() {
  const waiting = new Map<string, () => void>();
  return {
    wait: (key: string) => new Promise<void>((resolve) => waiting.set(key, resolve)),
    done(key: string) {
      waiting.get(key)?.();
      waiting.delete(key);
    },
  };
}

/**
 * The order's real activities, telling `sent` when an order's link went out: "link sent" is when the step
 * that sent it returns (the poll that found the order complete, or the deliver step).
 */
export function linkSentActivities(
  real: OrderActivities,
  sent: ReturnType<typeof completions>,
): OrderActivities {
  return {
    ...real,
    async collect(input) {
      const result = await real.collect(input);
      if (result.delivery && 'cardCount' in result.delivery && result.delivery.cardCount > 0)
        sent.done(input.orderId);
      return result;
    },
    async deliver(input) {
      const result = await real.deliver(input);
      if (result.cardCount > 0) sent.done(input.orderId);
      return result;
    },
  };
}
