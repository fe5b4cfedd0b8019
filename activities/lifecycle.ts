import {
  type FinishInput,
  type NotifyInput,
  type OrderActivities,
  type OrderStepInput,
  type PurgeInput,
  type PurgeResult,
  type RecordRetentionInput,
  type RegisterOrderInput,
  workflowIdFor,
} from '../contracts/order';
import { purgeOrder } from '../domain/cards';
import { MailRefused } from '../domain/mail/mailer';
import { noticeMail } from '../domain/mail/templates';
import { durationMs } from '../lib/config';
import { withTransaction } from '../lib/db';
import { scrub } from '../lib/logger';
import { metrics } from '../lib/metrics';
import { audit } from '../store/audit';
import { endLiveTokens as endTokens, markNoticeSent, openNotice } from '../store/deliveries';
import {
  extendBackstop,
  insertOrder,
  recordOutcome as recordOutcomeRow,
  setPurgeAfter,
} from '../store/orders';
import { type ActivityDeps, mailVoiceOf } from './deps';
import { askedByOrdersOwnWorkflow, checkOwnership } from './ownership';

/** The order's bookkeeping: its row, its outcome, its links' expiry and revocation, its purge. */
export function lifecycleActivities(
  deps: ActivityDeps,
): Omit<OrderActivities, 'collect' | 'deliver' | 'sendWebhook' | 'webhookUndeliverable'> {
  const { db, log } = deps;
  return {
    registerOrder: (input) => registerOrder(deps, input),

    /**
     * One notice per order and kind (per delivery, for a notice about one), as deliver is one link per
     * delivery: a row (kind 'notice') records it as sent, so a retry after a lost reply sends nothing twice
     * and audits nothing twice.
     */
    async notifyCustomer(input: NotifyInput): Promise<void> {
      const noticeId = `${input.deliveryId ?? input.orderId}#notice-${input.kind}`;
      if ((await openNotice(db, noticeId, input.orderId)) !== null) return;
      const { orderId, kind, deliveredCards, quantity } = input;
      const about = input.deliveryId ? { deliveryId: input.deliveryId } : {};
      const mailVoice = await mailVoiceOf(deps, orderId, input.locale);
      try {
        await deps.mailer.send(
          input.recipient,
          noticeMail(
            { orderRef: orderId, kind, deliveredCards, quantity, ...mailVoice },
            deps.noticeTemplates,
          ),
        );
      } catch (err) {
        if (!(err instanceof MailRefused && err.permanent)) throw err; // retried, as an outage is
        // Refused for good: nothing more to tell this address; the order goes on.
        await audit(db, {
          orderId,
          event: 'NOTICE_FAILED',
          actor: 'worker',
          method: 'activity:notifyCustomer',
          detail: { kind, ...about, smtpCode: err.smtpCode },
        });
        return;
      }
      await withTransaction(db, async (tx) => {
        if (!(await markNoticeSent(tx, noticeId))) return;
        await audit(tx, {
          orderId,
          event: 'NOTIFIED',
          actor: 'worker',
          method: 'activity:notifyCustomer',
          detail: { kind, ...about },
        });
      });
    },

    async finishOrder(input: FinishInput): Promise<void> {
      await recordOutcome(db, input, 'activity:finishOrder');
      log.info(
        { orderId: input.orderId, outcome: input.outcome, reason: input.failureReason },
        'order finished',
      );
    },

    async expireDelivery(input: OrderStepInput & { deliveryId: string }): Promise<number> {
      return endLiveTokens(db, {
        orderId: input.orderId,
        end: 'expired',
        scope: { deliveryId: input.deliveryId },
        detail: { deliveryId: input.deliveryId },
      });
    },

    async revokeLinks(input: OrderStepInput & { reason: string }): Promise<number> {
      return endLiveTokens(db, {
        orderId: input.orderId,
        end: 'revoked',
        scope: { orderId: input.orderId },
        detail: { reason: input.reason },
      });
    },

    /** Keeps the sweep's purge_after in step with the workflow's own purge timer. */
    async recordRetention(input: RecordRetentionInput): Promise<void> {
      await withTransaction(db, async (tx) => {
        if (input.purgeAt !== null) await setPurgeAfter(tx, input.orderId, new Date(input.purgeAt));
        // Not delivered yet: push the backstop out; the first delivery adds the extension itself.
        else await extendBackstop(tx, input.orderId, input.byMs);
        await audit(tx, {
          orderId: input.orderId,
          event: 'RETENTION_EXTENDED',
          actor: auditActor(input.requestedBy),
          method: 'signal:extendRetention',
          detail: {
            by: input.by,
            purgeAt: input.purgeAt === null ? null : new Date(input.purgeAt).toISOString(),
          },
        });
      });
    },

    async purgeOrder(input: PurgeInput): Promise<PurgeResult> {
      return purgeOrder(db, input.orderId, input.reason, 'worker');
    },
  };
}

/**
 * Who asked, as a signal said it ("operator:<name>" from the ops CLI): kept when it is a plain name, else
 * (absent: the UI, a hand-made signal; or not a plain name) "operator".
 */
export function auditActor(requestedBy: string | undefined): string {
  // A plain name, and nothing the log patterns would mask (a code-shaped "name" is not one).
  return requestedBy &&
    /^[A-Za-z0-9][A-Za-z0-9:._-]{0,79}$/.test(requestedBy) &&
    scrub(requestedBy) === requestedBy
    ? requestedBy
    : 'operator';
}

/**
 * Ends the live (unused, unrevoked, unexpired) tokens of one delivery or of a whole order, and audits how
 * many ended, in one transaction.
 */
async function endLiveTokens(
  db: ActivityDeps['db'],
  e: {
    orderId: string;
    end: 'expired' | 'revoked';
    scope: { deliveryId: string } | { orderId: string };
    detail: Record<string, unknown>;
  },
): Promise<number> {
  return withTransaction(db, async (tx) => {
    const count = await endTokens(tx, e.end, e.scope);
    metrics.links.inc({ event: e.end }, count);
    if (count > 0) {
      await audit(tx, {
        orderId: e.orderId,
        event: e.end === 'expired' ? 'EXPIRED' : 'REVOKED',
        actor: 'worker',
        method: e.end === 'expired' ? 'activity:expireDelivery' : 'activity:revokeLinks',
        count,
        detail: e.detail,
      });
    }
    return count;
  });
}

/**
 * The order's row and its ORDER_STARTED audit, once, bound to the asking workflow: its id (from the
 * activity's Temporal context, and only the order's own id, workflowIdFor) and its first run. A retry or a
 * later step of the same workflow finds the row and does nothing; any other workflow is refused
 * (checkOwnership). The collect activity does it on the order's first poll, which saves the order a step.
 */
export async function registerOrder(deps: ActivityDeps, input: RegisterOrderInput): Promise<void> {
  // Inserted first and checked only when it was not new: one statement for the common case, a new order.
  if (askedByOrdersOwnWorkflow(input.orderId)) {
    const registered = await insertOrder(
      deps.db,
      {
        orderId: input.orderId,
        userId: input.userId,
        workflowId: workflowIdFor(input.orderId),
        firstRunId: input.firstRunId,
        policy: input.policy,
        backstopMs: durationMs(input.policy.deadline) + durationMs(input.policy.retention),
        caller: input.caller,
      },
      {
        orderId: input.orderId,
        event: 'ORDER_STARTED',
        actor: 'worker',
        method: 'activity:collect:register',
        detail: {
          deliverPartial: input.policy.deliverPartial,
          purgeOnRetrieval: input.policy.purgeOnRetrieval,
        },
      },
    );
    if (registered) {
      metrics.ordersStarted.inc();
      deps.log.info({ orderId: input.orderId }, 'order registered');
      return;
    }
  }
  // Registered already (a retried poll, a step after a poll whose answer was lost), or asked by another
  // workflow: it must be this workflow's chain, or nothing happens but the refusal's audit row.
  await checkOwnership(deps, input, 'registerOrder');
}

/**
 * Records how the order ended, once: only the first call finds no outcome yet, so a retry after a lost
 * reply audits nothing twice. One statement, atomic on its own: finishOrder does it, or the delivery that
 * completes the order once its link is sent.
 */
export async function recordOutcome(
  db: Parameters<typeof recordOutcomeRow>[0],
  input: FinishInput,
  method: string,
): Promise<void> {
  // Failures and cancellations are audited here; a delivered order's DELIVERED row tells it already.
  const audited =
    input.outcome === 'FAILED' || input.outcome === 'CANCELLED'
      ? {
          orderId: input.orderId,
          event: input.outcome,
          actor: 'worker',
          method,
          count: input.deliveredCards,
          detail: { reason: input.failureReason },
        }
      : undefined;
  if (await recordOutcomeRow(db, input, audited)) metrics.ordersFinished.inc({ outcome: input.outcome });
}
