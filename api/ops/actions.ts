/**
 * What an operator does to an order through the ops API, as the verified person (api/operators/tokens.ts):
 * each action by the order's own workflow (the one registered for it, DESIGN 3.10), which receives the
 * operator's identity as `requestedBy`, never a name typed on a command line; each audited with the
 * operator's subject and name. Re-delivering cards a link already revealed and purging cards not yet in
 * the customer's hands need a second operator (operator-approvals): the first call only files the request.
 */
import type { Client } from '@temporalio/client';
import { type OperatorIdentity, operatorActor } from '../../contracts/operators';
import {
  cancelSignal,
  extendRetentionSignal,
  type OrderStatusView,
  purgeNowSignal,
  type ResendRequest,
  statusQuery,
} from '../../contracts/order';
import { purgeOrder } from '../../domain/cards';
import { orderWorkflow, type ResendOutcome, resendLink } from '../../domain/orders';
import { listWebhookEvents, replayWebhookEvent } from '../../domain/webhook-replay';
import type { WebhookEndpoints } from '../../domain/webhooks';
import type { Db } from '../../lib/db';
import { audit } from '../../store/audit';
import { storedCardCount } from '../../store/cards';
import { type ApprovalAction, requestApproval } from '../../store/operator-approvals';
import { operatorDetail } from '../operators/tokens';

export interface OpsDeps {
  db: Db;
  client: Client;
  webhookEndpoints: WebhookEndpoints;
  /** How long a dual-control request waits for its second operator. */
  approvalTtlMs: number;
  /**
   * The one way an operator's resend reaches the order (default: domain/orders resendLink: the request
   * recorded (store/deliveries requestResend, as the API's role) under the operator's verified identity,
   * then the order's resendLink update).
   */
  resend?: (orderId: string, request: ResendRequest) => Promise<ResendOutcome>;
}

/** An answer for the route: the HTTP status and a body without secrets or addresses. */
export interface ActionResult {
  status: number;
  body: Record<string, unknown>;
}

/** The second operator, when one approved: named next to the first in the audit row and the workflow. */
export interface Approved {
  approvalId: string;
  requestedBy: OperatorIdentity | { subject: string; username: string; name: string };
}

const done = (message: string, extra: Record<string, unknown> = {}): ActionResult => ({
  status: 200,
  body: { outcome: 'done', message, ...extra },
});
const refused = (status: number, message: string): ActionResult => ({
  status,
  body: { detail: message },
});

async function ownWorkflow(deps: OpsDeps, orderId: string) {
  const own = await orderWorkflow(deps.client, deps.db, orderId);
  if (own.running) return { handle: own.handle, why: '' };
  return {
    handle: undefined,
    why: own.impostor
      ? 'the workflow running under its id is not the one registered for it (left alone)'
      : 'the order has no running workflow',
  };
}

/**
 * Who acts, for the workflow's `requestedBy`: `operator:<username>`, and with a second operator
 * `operator:<first>:approved-by:<second>` (a plain name, as activities/lifecycle.ts auditActor keeps).
 */
function actorOf(op: OperatorIdentity, approved?: Approved): string {
  return approved ? `${operatorActor(approved.requestedBy)}:approved-by:${op.username}` : operatorActor(op);
}

function auditAction(
  deps: OpsDeps,
  op: OperatorIdentity,
  orderId: string,
  action: string,
  detail: Record<string, unknown>,
  approved?: Approved,
) {
  return audit(deps.db, {
    orderId,
    event: 'OPERATOR_ACTION',
    actor: operatorActor(op),
    method: `ops ${action}`,
    detail: {
      action,
      ...operatorDetail(op),
      ...(approved
        ? {
            approvalId: approved.approvalId,
            requestedBy: operatorActor(approved.requestedBy),
            requestedByName: approved.requestedBy.name,
            requestedBySubject: approved.requestedBy.subject,
          }
        : {}),
      ...detail,
    },
  });
}

async function fileForApproval(
  deps: OpsDeps,
  op: OperatorIdentity,
  orderId: string,
  action: ApprovalAction,
  why: string,
): Promise<ActionResult> {
  const approval = await requestApproval(deps.db, {
    orderId,
    action,
    requester: op,
    ttlMs: deps.approvalTtlMs,
  });
  await audit(deps.db, {
    orderId,
    event: 'APPROVAL_REQUESTED',
    actor: operatorActor(op),
    method: `ops ${action}`,
    detail: { approvalId: approval.id, action, why, ...operatorDetail(op) },
  });
  return {
    status: 202,
    body: {
      outcome: 'approval-required',
      approvalId: approval.id,
      expiresAt: approval.expiresAt.toISOString(),
      message: `${why}: a second support or admin operator must approve (npm run ops -- approve ${approval.id})`,
    },
  };
}

const revealedAny = (s: OrderStatusView) => s.deliveries.some((d) => d.retrieved);
const retrievedCards = (s: OrderStatusView) =>
  s.deliveries.filter((d) => d.retrieved).reduce((n, d) => n + d.cardCount, 0);

/**
 * A new link, revoking the old (DESIGN 3.13): with `email`, a correction of a refused recipient for the
 * cards no link revealed; without, every stored card again, which re-delivers revealed cards when a link
 * was used: then only with a second operator's approval.
 */
export async function operatorResend(
  deps: OpsDeps,
  op: OperatorIdentity,
  orderId: string,
  email: string | undefined,
  approved?: Approved,
): Promise<ActionResult> {
  const { handle, why } = await ownWorkflow(deps, orderId);
  if (!handle) return refused(409, `${why}; its cards are already purged`);
  if (email === undefined && !approved && revealedAny(await handle.query(statusQuery)))
    return fileForApproval(deps, op, orderId, 'resend', 'a link already revealed cards of this order');
  const requestedBy = actorOf(op, approved);
  // The address travels only inside the update's codec-encrypted arguments, and is never echoed.
  const request: ResendRequest = email !== undefined ? { recipient: email, requestedBy } : { requestedBy };
  const result = await (deps.resend ?? ((id, r) => resendLink(deps.client, deps.db, id, r)))(
    orderId,
    request,
  );
  await audit(deps.db, {
    orderId,
    event: 'RESEND_REQUESTED',
    actor: operatorActor(op),
    method: 'ops resend',
    detail: {
      recipientChanged: email !== undefined,
      outcome: result.outcome,
      ...('reason' in result && result.reason ? { reason: result.reason } : {}),
      ...operatorDetail(op),
      ...(approved
        ? { approvalId: approved.approvalId, requestedBy: operatorActor(approved.requestedBy) }
        : {}),
    },
  });
  switch (result.outcome) {
    case 'sent':
      return done(
        email !== undefined
          ? `A new link for ${result.result.cardCount} card(s) no link had revealed was sent to the corrected address; the previous address was told.`
          : `A new link for ${result.result.cardCount} card(s) was sent (re-delivered by ${requestedBy}).`,
        { cardCount: result.result.cardCount },
      );
    case 'pending':
      return {
        status: 202,
        body: { outcome: 'pending', message: 'the order accepted the resend; the email is on its way' },
      };
    case 'recipientRefused':
      return refused(409, 'the mail server refused the new address for good');
    default:
      return refused(409, `the order refused the resend${result.reason ? `: ${result.reason}` : ''}`);
  }
}

/** Purges the order's cards now: by its workflow, else (none running) directly, as the sweep would. */
export async function operatorPurge(
  deps: OpsDeps,
  op: OperatorIdentity,
  orderId: string,
  approved?: Approved,
): Promise<ActionResult> {
  const { handle, why } = await ownWorkflow(deps, orderId);
  if (!approved) {
    const undelivered = handle
      ? await handle.query(statusQuery).then((s) => s.storedCards > retrievedCards(s))
      : (await storedCardCount(deps.db, orderId)) > 0;
    if (undelivered)
      return fileForApproval(
        deps,
        op,
        orderId,
        'purge',
        'cards of this order are not in the customer’s hands',
      );
  }
  const requestedBy = actorOf(op, approved);
  if (handle) {
    await handle.signal(purgeNowSignal, { requestedBy });
    await auditAction(deps, op, orderId, 'purge', { via: 'workflow' }, approved);
    return done(`Asked the order's workflow to purge now: ${handle.workflowId}`);
  }
  const r = await purgeOrder(deps.db, orderId, 'operator', requestedBy);
  await auditAction(deps, op, orderId, 'purge', { via: 'direct', why, cards: r.cardsDeleted }, approved);
  return done(`Purged directly (${why}): ${r.cardsDeleted} card(s), ${r.tokensDeleted} token(s)`);
}

export async function operatorExtendRetention(
  deps: OpsDeps,
  op: OperatorIdentity,
  orderId: string,
  by: string,
): Promise<ActionResult> {
  const { handle, why } = await ownWorkflow(deps, orderId);
  if (!handle) return refused(409, `${why}; its cards are already purged or due`);
  await handle.signal(extendRetentionSignal, { by, requestedBy: operatorActor(op) });
  await auditAction(deps, op, orderId, 'extend-retention', { by });
  return done(`Retention of ${orderId} extended by ${by}.`);
}

export async function operatorCancel(
  deps: OpsDeps,
  op: OperatorIdentity,
  orderId: string,
  reason: string | undefined,
): Promise<ActionResult> {
  const { handle, why } = await ownWorkflow(deps, orderId);
  if (!handle) return refused(409, why);
  await handle.signal(cancelSignal, {
    reason: reason ?? 'cancelled by operator',
    requestedBy: operatorActor(op),
  });
  await auditAction(deps, op, orderId, 'cancel', {});
  return done(`Cancel sent to ${handle.workflowId}.`);
}

export async function operatorWebhooks(deps: OpsDeps, orderId: string): Promise<ActionResult> {
  const events = await listWebhookEvents(deps.db, orderId);
  const { handle } = await ownWorkflow(deps, orderId);
  const queued = handle ? (await handle.query(statusQuery)).webhooks : undefined;
  return {
    status: 200,
    body: {
      events: events.map(({ body: _body, ...row }) => row),
      ...(queued ? { pending: queued.pending, lastSequence: queued.lastSequence } : {}),
    },
  };
}

export async function operatorReplayWebhook(
  deps: OpsDeps,
  op: OperatorIdentity,
  orderId: string,
  eventId: string,
): Promise<ActionResult> {
  try {
    const status = await replayWebhookEvent(
      deps.db,
      deps.webhookEndpoints,
      orderId,
      eventId,
      operatorActor(op),
    );
    return done(`Re-sent ${eventId}: the endpoint answered HTTP ${status}.`, { status });
  } catch (err) {
    return refused(404, err instanceof Error ? err.message : 'no such event');
  }
}
