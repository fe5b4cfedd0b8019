/**
 * An order belongs to one workflow (DESIGN 3.10). Its registration records the workflow id and the first
 * run of the workflow's chain; every activity of the order checks the workflow that asks against them before
 * it reads or changes anything. The asking workflow's id comes from the activity's own Temporal context,
 * never from its input: a workflow of type giftCardOrder started by hand (the Temporal UI's "Start
 * Workflow", a stolen credential) under another id, naming an existing order, changes nothing, sends
 * nothing, and leaves an OWNERSHIP_REFUSED audit row. So does a new chain under the order's own id (its
 * workflow terminated and started again with other input): only the server assigns a first run id.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  ORDER_OWNERSHIP_REFUSED,
  ORDER_WORKFLOW_TYPE,
  type OrderStepInput,
  workflowIdFor,
} from '../contracts/order';
import { scrub } from '../lib/logger';
import { audit } from '../store/audit';
import { bindFirstRun, orderOwner } from '../store/orders';
import type { ActivityDeps } from './deps';

export type Ownership =
  /** The order is registered to the asking workflow (and chain). */
  | 'owned'
  /**
   * No order row yet, and the asking workflow has the order's own id: its registration is still to come
   * (a cancel before the first poll, an event sent beside it). Nothing of the order exists to protect.
   */
  | 'unregistered';

type Refusal = 'not an order workflow' | 'another workflow' | 'another run' | 'not the order id';

/** The asking workflow, from Temporal (not from the input); undefined outside an activity. */
export function askingWorkflow(): { workflowId: string; workflowType: string } | undefined {
  let info: Context['info'];
  try {
    info = Context.current().info;
  } catch {
    return undefined;
  }
  const workflowId = info.workflowExecution?.workflowId;
  return workflowId ? { workflowId, workflowType: info.workflowType ?? '' } : undefined;
}

/** Whether the asking workflow is an order workflow under the order's own id: the one that may register it. */
export function askedByOrdersOwnWorkflow(orderId: string): boolean {
  const asking = askingWorkflow();
  return asking?.workflowType === ORDER_WORKFLOW_TYPE && asking.workflowId === workflowIdFor(orderId);
}

/**
 * Resolves when the asking workflow may act on `input.orderId`; otherwise audits the attempt and throws a
 * non-retryable OrderOwnershipRefused. An order registered before its first run was recorded is bound to
 * the chain of its own workflow's next step (the workflow id must match).
 */
export async function checkOwnership(
  deps: Pick<ActivityDeps, 'db' | 'log'>,
  input: OrderStepInput,
  step: string,
): Promise<Ownership> {
  const asking = askingWorkflow();
  if (!asking || asking.workflowType !== ORDER_WORKFLOW_TYPE)
    return refuse(deps, input, step, asking?.workflowId ?? null, 'not an order workflow');
  const order = await orderOwner(deps.db, input.orderId);
  if (!order) {
    // What the registration will require: the order's own id.
    if (asking.workflowId !== workflowIdFor(input.orderId))
      return refuse(deps, input, step, asking.workflowId, 'not the order id');
    return 'unregistered';
  }
  if (order.workflowId !== asking.workflowId)
    return refuse(deps, input, step, asking.workflowId, 'another workflow');
  if (order.firstRunId === input.firstRunId) return 'owned';
  if (order.firstRunId === null) {
    if (await bindFirstRun(deps.db, input.orderId, asking.workflowId, input.firstRunId)) return 'owned';
    return checkOwnership(deps, input, step); // bound by a concurrent step meanwhile: compare again
  }
  return refuse(deps, input, step, asking.workflowId, 'another run');
}

async function refuse(
  deps: Pick<ActivityDeps, 'db' | 'log'>,
  input: OrderStepInput,
  step: string,
  workflowId: string | null,
  reason: Refusal,
): Promise<never> {
  // Ids only, bounded and scrubbed as a log line is: the input and the asking workflow's id are whatever
  // whoever started it chose, and the audit trail keeps them for good.
  const orderId = scrub(String(input.orderId).slice(0, 128));
  const asking = workflowId === null ? null : scrub(workflowId.slice(0, 256));
  await audit(deps.db, {
    orderId,
    event: 'OWNERSHIP_REFUSED',
    actor: 'worker',
    method: `activity:${step}`,
    detail: { workflowId: asking, reason },
  });
  deps.log.warn(
    { orderId, workflowId: asking, step, reason },
    'refused: the asking workflow is not the one registered for the order',
  );
  throw ApplicationFailure.nonRetryable(
    `workflow ${asking ?? '(none)'} may not act on order ${orderId}: ${reason}`,
    ORDER_OWNERSHIP_REFUSED,
  );
}
