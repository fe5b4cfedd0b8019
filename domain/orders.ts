/**
 * Starting an order: the typed client function behind the CLI and the intake API. Input is validated
 * before anything starts; one workflow per order id, and a second start returns the existing one.
 */
import { createHmac } from 'node:crypto';
import {
  ApplicationFailure,
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { z } from 'zod';
import {
  type DeliverResult,
  ORDER_WORKFLOW_TYPE,
  type OrderInput,
  type OrderPolicy,
  type OrderWorkflow,
  RECIPIENT_REFUSED,
  ResendRefusal,
  type ResendRefusalType,
  type ResendRequest,
  resendLinkUpdate,
  STARTING_SEARCH_ATTRIBUTES,
  workflowIdFor,
} from '../contracts/order';
import { type Config, durationMs, durationSchema } from '../lib/config';
import type { Db } from '../lib/db';
import { describeIssues, invalidFields } from '../lib/validation';
import { REFUSED_BY_DATABASE, requestResend } from '../store/deliveries';
import { orderOwner } from '../store/orders';
import { localeSchema } from './i18n/locales';
import { namespaceIssues, type PollBounds, pollIssues } from './order-fences';

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
  /** The customer's language for pages and emails (docs/customer-page.md); canonicalised ("DE-ch" → "de-CH"). */
  locale: localeSchema.optional(),
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

/** An intake caller's correction of its order's recipient; the order id again, so the signature names it. */
export const recipientCorrectionSchema = z
  .object({ orderId: orderIdSchema, email: orderRequestSchema.shape.email })
  .strict();

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

/** Who an order comes from and the fences it must keep (domain/order-fences.ts). */
export interface OrderRequestOptions {
  /** The intake caller it came from, which alone will hear of the order; none from the CLI. */
  caller?: string;
  /** The caller's order-id prefix (INTAKE_ORDER_ID_PREFIXES), when it has one. */
  orderIdPrefix?: string;
  /** Default: POLL_BOUNDS. Only tests against the sandbox provider poll faster. */
  pollBounds?: PollBounds;
}

export type OrderRequestCheck =
  | { ok: true; input: OrderInput }
  /**
   * `invalid`: the fields to fix; `problems`: "field: reason" in the domain's own words (never a value
   * from the request); `fenced`: the request was well-formed but crossed a caller's fence.
   */
  | { ok: false; invalid: string[]; problems: string[]; fenced: boolean };

/** Validates a request (its shape, then the caller's fences on the whole order, defaults merged in). */
export function checkOrderRequest(
  request: unknown,
  defaults: OrderPolicy,
  opts: OrderRequestOptions = {},
): OrderRequestCheck {
  const parsed = orderRequestSchema.safeParse(request);
  if (!parsed.success) {
    return {
      ok: false,
      invalid: invalidFields(parsed.error),
      problems: describeIssues(parsed.error),
      fenced: false,
    };
  }
  const { orderId, userId, email, locale, policy } = parsed.data;
  const input: OrderInput = {
    orderId,
    userId,
    recipient: email,
    policy: { ...defaults, ...policy },
    ...(locale ? { locale } : {}),
    ...(opts.caller ? { caller: opts.caller } : {}),
  };
  const issues = [
    ...namespaceIssues(orderId, opts.orderIdPrefix),
    ...pollIssues(input.policy, opts.pollBounds),
  ];
  if (issues.length === 0) return { ok: true, input };
  return {
    ok: false,
    invalid: [...new Set(issues.map(([field]) => field))],
    problems: issues.map(([field, reason]) => `${field}: ${reason}`),
    fenced: true,
  };
}

/** checkOrderRequest, throwing an OrderValidationError that names the bad fields and never echoes the email. */
export function buildOrderInput(
  request: unknown,
  defaults: OrderPolicy,
  opts: OrderRequestOptions = {},
): OrderInput {
  const checked = checkOrderRequest(request, defaults, opts);
  if (!checked.ok) throw new OrderValidationError(`invalid order: ${checked.problems.join('; ')}`);
  return checked.input;
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
      typedSearchAttributes: STARTING_SEARCH_ATTRIBUTES,
      // Each caller's tasks are dispatched in fair shares (its activities inherit the key): one caller's
      // backlog of polls does not hold up another's in the provider's rate-limited queue.
      priority: { fairnessKey: fairnessKeyOf(input) },
    });
    return { workflowId, runId: handle.firstExecutionRunId, existing: false };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const description = await client.workflow.getHandle(workflowId).describe();
    return { workflowId, runId: description.runId, existing: true };
  }
}

/**
 * The key Temporal shares task dispatch by (task queue fairness): the order's intake caller, or "operator"
 * for orders started by the CLI or the typed client. Caller names are short ([a-z0-9_-]); the key's limit
 * is 64 bytes.
 */
function fairnessKeyOf(input: Pick<OrderInput, 'caller'>): string {
  return input.caller ?? 'operator';
}

/**
 * The intake's fingerprint of a request (validated by orderRequestSchema): HMAC-SHA256 under the API's
 * INTAKE_REQUEST_KEY of its canonical JSON (keys sorted at every level, the policy as the caller sent it,
 * without defaults, so that a change of defaults does not change it). Keyed, because the request holds
 * the customer's email address: a plain SHA-256 of it would let anyone reading the table confirm a
 * guessed address.
 */
export function orderRequestDigest(request: unknown, key: string): Buffer {
  const parsed = orderRequestSchema.parse(request);
  return createHmac('sha256', key).update(canonicalJson(parsed)).digest();
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Where an order's own workflow stands, for those that act on the order through it (ops CLI, intake). */
export type OrderWorkflowLookup =
  | { running: true; handle: WorkflowHandle }
  /**
   * No running workflow registered for the order: it finished or was terminated, or (`impostor`) the
   * workflow now running under its id is a new chain, not the one the order is registered to. Whoever
   * acts on the order then acts directly in the database, or not at all.
   */
  | { running: false; impostor: boolean };

/**
 * The workflow registered for the order (its row's workflow id and first run), when it is running; an
 * order not registered yet is its own id's (workflowIdFor), as its registration will require.
 */
export async function orderWorkflow(client: Client, db: Db, orderId: string): Promise<OrderWorkflowLookup> {
  const registered = await orderOwner(db, orderId);
  const handle = client.workflow.getHandle(registered?.workflowId ?? workflowIdFor(orderId));
  let description: Awaited<ReturnType<WorkflowHandle['describe']>>;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { running: false, impostor: false };
    throw err;
  }
  if (description.status.name !== 'RUNNING') return { running: false, impostor: false };
  const firstRunId = description.raw.workflowExecutionInfo?.firstRunId;
  if (registered?.firstRunId && firstRunId !== registered.firstRunId)
    return { running: false, impostor: true };
  return { running: true, handle };
}

export type ResendOutcome =
  | { outcome: 'sent'; result: DeliverResult }
  /** Accepted by the order, and the email still on its way after `waitMs` (a mail server saying "later"). */
  | { outcome: 'pending' }
  /** The mail server refused the new address for good too. */
  | { outcome: 'recipientRefused' }
  /**
   * The order refused it (nothing stored to send, purged, cancelled), or its own workflow is not running;
   * `reason` when it refused it by DESIGN 3.13 (a recipient not refused, a caller asking for more than a
   * correction, every card already revealed).
   */
  | { outcome: 'rejected'; reason?: ResendRefusalType };

const REFUSALS: readonly string[] = Object.values(ResendRefusal);

/**
 * Revokes the order's live link and sends a new one, to `request.recipient` when given, through the
 * order's own workflow, after recording who asked (store/deliveries requestResend; the database refuses a
 * request by anyone but the order's caller or an operator) (its resendLink update: the address travels only in the update's codec-encrypted
 * arguments). Waits up to `waitMs` for the email to be sent.
 */
export async function resendLink(
  client: Client,
  db: Db,
  orderId: string,
  request: ResendRequest,
  waitMs = 20_000,
): Promise<ResendOutcome> {
  const own = await orderWorkflow(client, db, orderId);
  if (!own.running) return { outcome: 'rejected' };
  // The request the worker's delivery consumes: without it the database mints no resend link. The database
  // refuses one from anyone but the order's own caller (or an operator): the order refuses it too, then.
  try {
    await requestResend(db, {
      orderId,
      requestedBy: request.requestedBy ?? 'operator',
      kind: request.recipient !== undefined ? 'correction' : 'redeliver',
    });
  } catch (err) {
    if ((err as { code?: string }).code === REFUSED_BY_DATABASE) return { outcome: 'rejected' };
    throw err;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const update = await own.handle.startUpdate(resendLinkUpdate, {
      args: [request],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    const waited = new Promise<'pending'>((resolve) => {
      timer = setTimeout(() => resolve('pending'), waitMs);
    });
    const result = await Promise.race([update.result(), waited]);
    return result === 'pending' ? { outcome: 'pending' } : { outcome: 'sent', result };
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    const type = err.cause instanceof ApplicationFailure ? err.cause.type : undefined;
    if (type === RECIPIENT_REFUSED) return { outcome: 'recipientRefused' };
    return type && REFUSALS.includes(type)
      ? { outcome: 'rejected', reason: type as ResendRefusalType }
      : { outcome: 'rejected' };
  } finally {
    clearTimeout(timer);
  }
}
