/**
 * What intake does with a signed, valid request, apart from HTTP: start an order (acceptOrder) or correct
 * its recipient (correctRecipient). The routes (routes.ts) authenticate, validate with their schemas and
 * turn these outcomes into answers; these functions decide, over intake's own records (bindings.ts,
 * replays.ts, idempotency.ts) and the order's workflow.
 */
import type { OrderInput, OrderPolicy, ResendRequest } from '../../contracts/order';
import type { OrderIdPrefixes, PollBounds } from '../../domain/order-fences';
import {
  checkOrderRequest,
  type OrderRequest,
  orderRequestDigest,
  type ResendOutcome,
  type StartedOrder,
} from '../../domain/orders';
import { type Db, withTransaction } from '../../lib/db';
import { audit } from '../../store/audit';
import type { Requester } from '../http/requester';
import { bindOrderRequest, boundCaller, keepBindingIfStartedBy } from './bindings';
import { keepAnswer, lockIdempotencyKey, type StoredAnswer, storedAnswer } from './idempotency';
import { forgetSignature, recordSignature } from './replays';

/** A request whose signature intake verified: who sent it, when they signed it, and the signature. */
export interface SignedBy {
  caller: string;
  timestamp: string;
  signature: Buffer;
}

export interface AcceptOrderDeps {
  db: Db;
  startOrder: (input: OrderInput) => Promise<StartedOrder>;
  policyDefaults: OrderPolicy;
  /** INTAKE_ORDER_ID_PREFIXES: a caller listed may claim only order ids under its prefix. */
  orderIdPrefixes?: OrderIdPrefixes;
  /** The bounds on every order's polling; default POLL_BOUNDS. */
  pollBounds?: PollBounds;
  /** INTAKE_REQUEST_KEY: keys the request's fingerprint (its binding, its idempotency key). */
  requestKey: string;
}

export type AcceptedOrder =
  /**
   * Well-formed, but outside the caller's fences (poll bounds, its order-id prefix): nothing recorded.
   * `invalid`: the fields; `problems`: "field: reason" in the domain's own words, never a request value.
   */
  | { outcome: 'fenced'; invalid: string[]; problems: string[] }
  /** Started now (202) or found started by the same caller and request (200). */
  | { outcome: 'answered'; answer: StoredAnswer; orderId: string; existing: boolean }
  /** The answer the idempotency key's first request got, again. */
  | { outcome: 'repeated'; answer: StoredAnswer }
  | { outcome: 'signatureReplayed' }
  /** The order id belongs to another caller or request. */
  | { outcome: 'conflict' }
  | { outcome: 'keyInFlight' }
  | { outcome: 'keyReused' };

/**
 * Starts the order of a valid request (orderRequestSchema). The signature, the order id's binding and the
 * idempotency key's answer are recorded in the transaction that starts it: if the start fails, the caller's
 * retry of the same request is neither a replay nor a conflict; while it runs, a concurrent request for the
 * same order id waits for the binding, and one with the same idempotency key is told it is in flight.
 * Throws when the order could not be started (the caller may send the same request again).
 */
export async function acceptOrder(
  deps: AcceptOrderDeps,
  signed: SignedBy,
  request: OrderRequest,
  idempotencyKey?: string,
): Promise<AcceptedOrder> {
  const { caller, timestamp, signature } = signed;
  const checked = checkOrderRequest(request, deps.policyDefaults, {
    caller,
    orderIdPrefix: deps.orderIdPrefixes?.get(caller),
    pollBounds: deps.pollBounds,
  });
  if (!checked.ok) return { outcome: 'fenced', invalid: checked.invalid, problems: checked.problems };
  const { input } = checked;
  const requestHash = orderRequestDigest(request, deps.requestKey);
  return withTransaction(deps.db, async (client): Promise<AcceptedOrder> => {
    if (idempotencyKey !== undefined) {
      if (!(await lockIdempotencyKey(client, caller, idempotencyKey))) return { outcome: 'keyInFlight' };
      const kept = await storedAnswer(client, caller, idempotencyKey, requestHash);
      if (kept) return kept.same ? { outcome: 'repeated', answer: kept } : { outcome: 'keyReused' };
    }
    if (!(await recordSignature(client, { signature, caller, timestamp })))
      return { outcome: 'signatureReplayed' };
    const { orderId } = input;
    const binding = await bindOrderRequest(client, { orderId, caller, requestHash });
    if (binding === 'conflict') return { outcome: 'conflict' };
    const order = await deps.startOrder(input);
    if (binding === 'new' && order.existing && !(await keepBindingIfStartedBy(client, orderId, caller)))
      return { outcome: 'conflict' };
    const answer = {
      status: order.existing ? 200 : 202,
      body: { workflowId: order.workflowId, existing: order.existing },
    };
    if (idempotencyKey !== undefined)
      await keepAnswer(client, { caller, key: idempotencyKey, requestHash, answer });
    return { outcome: 'answered', answer, orderId, existing: order.existing };
  });
}

export type CorrectionOutcome =
  | ResendOutcome
  | { outcome: 'signatureReplayed' }
  /** Another caller's order, or none: the same answer. */
  | { outcome: 'notYours' }
  /** Not carried out (Temporal unreachable, say): the same request may come again. */
  | { outcome: 'unavailable'; error: unknown; notForgotten?: unknown };

/**
 * The order's caller corrects a recipient the mail server refused: a new link through the order's own
 * workflow (`resend`), audited with the caller as actor. The signature is forgotten again when the
 * correction could not be carried out at all, so the caller's retry is a retry, not a replay.
 */
export async function correctRecipient(
  deps: { db: Db; resend: (orderId: string, request: ResendRequest) => Promise<ResendOutcome> },
  signed: SignedBy,
  correction: { orderId: string; email: string },
  requester: Requester & { method: string },
): Promise<CorrectionOutcome> {
  const { db } = deps;
  const { caller, timestamp, signature } = signed;
  const { orderId } = correction;
  const fresh = await withTransaction(db, (client) =>
    recordSignature(client, { signature, caller, timestamp }),
  );
  if (!fresh) return { outcome: 'signatureReplayed' };
  if ((await boundCaller(db, orderId)) !== caller) return { outcome: 'notYours' };

  let result: ResendOutcome;
  try {
    result = await deps.resend(orderId, { recipient: correction.email, requestedBy: `caller:${caller}` });
  } catch (error) {
    const notForgotten = await forgetSignature(db, signature).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { outcome: 'unavailable', error, notForgotten };
  }
  const { method, ...who } = requester;
  await audit(db, {
    orderId,
    event: 'RESEND_REQUESTED',
    actor: `caller:${caller}`,
    method,
    ...who,
    detail: {
      recipientChanged: true,
      outcome: result.outcome,
      ...(result.outcome === 'rejected' && result.reason ? { reason: result.reason } : {}),
    },
  });
  return result;
}
