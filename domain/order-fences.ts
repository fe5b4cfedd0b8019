/**
 * What fences an intake caller from the others and from the fleet (issue 20 item 5), checked on the whole
 * order (the caller's policy merged with the defaults) before anything starts:
 *
 * - **Poll bounds**: no poll interval below a floor, and no more than a budget of provider polls over the
 *   order's deadline (`pollsOverDeadline`), so that no caller can spend the provider's shared rate on one
 *   order polled every 100 ms for 30 days.
 * - **Order-id namespaces**: a caller with a prefix (INTAKE_ORDER_ID_PREFIXES) may claim only order ids
 *   under it, so no caller can claim another's provider order first and have its cards sent to an address
 *   of its choosing.
 *
 * Each check answers "field: what is wrong" in words of the API's own, never a value from the request.
 */
import type { OrderPolicy } from '../contracts/order';
import { durationMs } from '../lib/config';

export interface PollBounds {
  /** The shortest pollInitialInterval and pollMaxInterval an order may have. */
  floor: string;
  /** The most provider polls an order may make over its deadline (at its policy's shortest delays). */
  maxPolls: number;
}

/**
 * Every order's bounds: 5 s is the default first interval, and 2,000 polls let a 24 h deadline poll every
 * 43 s at most (the default 5 min is well within), a 30-day deadline every 28 min.
 */
export const POLL_BOUNDS: PollBounds = { floor: '5s', maxPolls: 2_000 };

/** The lowest a retry's ±20 % jitter (activities/collect.ts backoff) can bring a delay: the worst case. */
const JITTER_LOW = 0.8;

/**
 * The most polls an order can make before its deadline: the first at once, then each retry after the
 * shortest delay its backoff allows (doubling from the first interval up to the maximum, at the jitter's
 * low end). An upper bound: an order whose cards arrive in parts starts its backoff again once per part.
 */
export function pollsOverDeadline(
  policy: Pick<OrderPolicy, 'pollInitialInterval' | 'pollMaxInterval' | 'deadline'>,
): number {
  const maxMs = durationMs(policy.pollMaxInterval) * JITTER_LOW;
  const deadlineMs = durationMs(policy.deadline);
  let delay = durationMs(policy.pollInitialInterval) * JITTER_LOW;
  let at = 0;
  let polls = 1;
  while (delay < maxMs) {
    if (at + delay > deadlineMs) return polls;
    at += delay;
    polls++;
    delay *= 2;
  }
  return polls + Math.floor((deadlineMs - at) / maxMs);
}

/** What is wrong with a policy's polling under `bounds`, as "field: reason" pairs (empty when nothing). */
export function pollIssues(policy: OrderPolicy, bounds: PollBounds = POLL_BOUNDS): Array<[string, string]> {
  const floorMs = durationMs(bounds.floor);
  const issues: Array<[string, string]> = [];
  for (const field of ['pollInitialInterval', 'pollMaxInterval'] as const)
    if (durationMs(policy[field]) < floorMs)
      issues.push([`policy.${field}`, `must be at least ${bounds.floor}`]);
  if (issues.length > 0) return issues;
  const polls = pollsOverDeadline(policy);
  if (polls > bounds.maxPolls) {
    const needed = fittingMaxInterval(policy, bounds.maxPolls);
    issues.push([
      'policy.pollMaxInterval',
      `allows about ${polls} provider polls over the order's deadline of ${policy.deadline}, more than ` +
        `the ${bounds.maxPolls} an order may make: raise it to at least ${needed} or shorten the deadline`,
    ]);
  }
  return issues;
}

/**
 * The shortest pollMaxInterval, in whole minutes (whole seconds below one), that keeps this policy's
 * polls within `maxPolls`: what the refusal tells the caller to ask for instead.
 */
function fittingMaxInterval(policy: OrderPolicy, maxPolls: number): string {
  const steadyMs = durationMs(policy.deadline) / (maxPolls * JITTER_LOW);
  const [unit, step] = steadyMs >= 60_000 ? ['m', 60_000] : ['s', 1000];
  for (let n = Math.ceil(steadyMs / step); ; n++)
    if (pollsOverDeadline({ ...policy, pollMaxInterval: `${n}${unit}` }) <= maxPolls) return `${n}${unit}`;
}

/** Each intake caller's order-id prefix (INTAKE_ORDER_ID_PREFIXES); a caller not in it has none. */
export type OrderIdPrefixes = ReadonlyMap<string, string>;

/** What is wrong with the order id for this caller's prefix (empty when it is under it, or none is set). */
export function namespaceIssues(orderId: string, prefix: string | undefined): Array<[string, string]> {
  if (prefix === undefined || orderId.startsWith(prefix)) return [];
  return [['orderId', `must start with this caller's order-id prefix "${prefix}"`]];
}
