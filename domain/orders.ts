/**
 * Starting an order: the typed client function behind the CLI and the intake API. Input is validated
 * before anything starts; one workflow per order id, and a second start returns the existing one.
 */
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import {
  ORDER_WORKFLOW_TYPE,
  type OrderInput,
  type OrderPolicy,
  type OrderWorkflow,
  workflowIdFor,
} from '../contracts/order';
import { type Config, durationMs, durationSchema } from '../lib/config';
import { describeIssues } from '../lib/validation';

export const orderIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'order id: 1-128 letters, digits, ".", "_", ":" or "-"');

export const userIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'user id: 1-128 letters, digits or ._:@-');

/** A duration in [min, max]: a caller cannot ask for links that never expire or a provider hammered. */
function within(min: string, max: string) {
  const inRange = (d: string) => {
    try {
      return durationMs(d) >= durationMs(min) && durationMs(d) <= durationMs(max);
    } catch {
      return true; // not a duration at all: durationSchema already says so
    }
  };
  return durationSchema.refine(inRange, { message: `must be between ${min} and ${max}` });
}

export const orderRequestSchema = z.object({
  orderId: orderIdSchema,
  userId: userIdSchema,
  email: z.email('a valid email address').max(254),
  policy: z
    .object({
      deliverPartial: z.boolean(),
      purgeOnRetrieval: z.boolean(),
      linkTtl: within('1s', '30d'),
      retention: within('1s', '400d'),
      deadline: within('1s', '30d'),
      pollInitialInterval: within('100ms', '1h'),
      pollMaxInterval: within('100ms', '1h'),
      webhookMaxAge: within('1s', '7d'),
    })
    .partial()
    .strict()
    .default({}),
});

export type OrderRequest = z.input<typeof orderRequestSchema>;

export class OrderValidationError extends Error {
  override name = 'OrderValidationError';
}

export function defaultPolicy(cfg: Config): OrderPolicy {
  return {
    deliverPartial: false,
    purgeOnRetrieval: false,
    linkTtl: cfg.LINK_TTL,
    retention: cfg.RETENTION,
    deadline: cfg.ORDER_DEADLINE,
    pollInitialInterval: cfg.POLL_INITIAL_INTERVAL,
    pollMaxInterval: cfg.POLL_MAX_INTERVAL,
    webhookMaxAge: cfg.WEBHOOK_MAX_AGE,
  };
}

/**
 * Validates a request; the error names the bad fields and never echoes the email. `caller`: the intake
 * caller it came from, which alone will hear of the order.
 */
export function buildOrderInput(request: unknown, defaults: OrderPolicy, caller?: string): OrderInput {
  const parsed = orderRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw new OrderValidationError(`invalid order: ${describeIssues(parsed.error).join('; ')}`);
  }
  const { orderId, userId, email, policy } = parsed.data;
  const input: OrderInput = { orderId, userId, recipient: email, policy: { ...defaults, ...policy } };
  return caller ? { ...input, caller } : input;
}

export interface StartedOrder {
  workflowId: string;
  runId: string;
  /** True when this order id already had a workflow (running or finished): nothing new was started. */
  existing: boolean;
}

export async function startOrder(
  client: Client,
  input: OrderInput,
  taskQueue: string,
): Promise<StartedOrder> {
  const workflowId = workflowIdFor(input.orderId);
  try {
    const handle = await client.workflow.start<OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
      taskQueue,
      workflowId,
      args: [input],
      // A finished order's id is never reused: the same order must not be bought or delivered twice.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
    });
    return { workflowId, runId: handle.firstExecutionRunId, existing: false };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const description = await client.workflow.getHandle(workflowId).describe();
    return { workflowId, runId: description.runId, existing: true };
  }
}
