import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ORDER_WORKFLOW_TYPE, type OrderStatusView, statusQuery, workflowIdFor } from '../../contracts/order';

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

/**
 * Runs an order's activity outside Temporal as the order's own workflow would ask it: its id in the
 * activity's context (which the ownership check reads) and a first run id. For tests that call a step
 * directly.
 */
export function asOrderWorkflow(orderId: string, workflowId = workflowIdFor(orderId)) {
  const env = new MockActivityEnvironment({
    workflowExecution: { workflowId, runId: 'direct-call' },
    workflowType: ORDER_WORKFLOW_TYPE,
  });
  return <I, O>(step: (input: I) => Promise<O>, input: I): Promise<O> => env.run(step, input);
}
