import type { Client } from '@temporalio/client';
import { type OrderStatusView, statusQuery, workflowIdFor } from '../../contracts/order';

/** Polls the `status` query until the predicate holds. */
export async function waitForStatus(
  client: Client,
  orderId: string,
  predicate: (s: OrderStatusView) => boolean,
  timeoutMs = 60_000,
): Promise<OrderStatusView> {
  const handle = client.workflow.getHandle(workflowIdFor(orderId));
  const until = Date.now() + timeoutMs;
  let last: OrderStatusView | undefined;
  for (;;) {
    try {
      last = await handle.query(statusQuery);
      if (predicate(last)) return last;
    } catch (err) {
      // The first workflow task may not have run yet.
      if (Date.now() > until) throw err;
    }
    if (Date.now() > until) throw new Error(`order status never matched; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export const settled = (s: OrderStatusView) => s.outcome !== null && s.phase !== 'delivering';
