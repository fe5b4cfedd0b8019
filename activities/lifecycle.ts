import type pg from 'pg';
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
import { audit, auditEach } from '../lib/audit';
import { durationMs } from '../lib/config';
import { withTransaction } from '../lib/db';
import { scrub } from '../lib/logger';
import { metrics } from '../lib/metrics';
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
      const { rows } = await db.query<{ sent_at: Date | null }>(
        `WITH new AS (INSERT INTO deliveries (id, order_id, kind, card_count, expires_at)
                      VALUES ($1, $2, 'notice', 0, now()) ON CONFLICT (id) DO NOTHING RETURNING sent_at)
         SELECT sent_at FROM new UNION ALL SELECT sent_at FROM deliveries WHERE id = $1`,
        [noticeId, input.orderId],
      );
      if (rows.some((r) => r.sent_at !== null)) return;
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
        const sent = await tx.query(
          'UPDATE deliveries SET sent_at = now() WHERE id = $1 AND sent_at IS NULL',
          [noticeId],
        );
        if (!sent.rowCount) return;
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
        if (input.purgeAt !== null) {
          await tx.query('UPDATE orders SET purge_after = $2, updated_at = now() WHERE order_id = $1', [
            input.orderId,
            new Date(input.purgeAt),
          ]);
        } else {
          // Not delivered yet: push the backstop out; the first delivery adds the extension itself.
          await tx.query(
            `UPDATE orders SET purge_after = purge_after + make_interval(secs => $2::double precision / 1000),
               updated_at = now() WHERE order_id = $1`,
            [input.orderId, input.byMs],
          );
        }
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
  const column = e.end === 'expired' ? 'expired_at' : 'revoked_at';
  const [filter, value] =
    'deliveryId' in e.scope ? ['delivery_id', e.scope.deliveryId] : ['order_id', e.scope.orderId];
  return withTransaction(db, async (tx) => {
    const { rowCount } = await tx.query(
      `UPDATE delivery_tokens SET ${column} = now()
       WHERE ${filter} = $1 AND consumed_at IS NULL AND revoked_at IS NULL AND expired_at IS NULL`,
      [value],
    );
    const count = rowCount ?? 0;
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
    const audited = auditEach(
      'registered',
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
      7,
    );
    const { rowCount } = await deps.db.query({
      name: 'register-order',
      // purge_after starts as a backstop (deadline + retention) for the sweep, should the workflow be
      // lost before delivering; the first delivery replaces it with delivery time + retention.
      text: `WITH registered AS (
         INSERT INTO orders (order_id, user_id, workflow_id, workflow_first_run_id, policy, caller, purge_after)
         VALUES ($1, $2, $3, $4, $5, $7, now() + make_interval(secs => $6::double precision / 1000))
         ON CONFLICT (order_id) DO NOTHING RETURNING order_id)
       ${audited.sql}`,
      values: [
        input.orderId,
        input.userId,
        workflowIdFor(input.orderId),
        input.firstRunId,
        JSON.stringify(input.policy),
        durationMs(input.policy.deadline) + durationMs(input.policy.retention),
        input.caller,
        ...audited.params,
      ],
    });
    if (rowCount) {
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
  db: Pick<pg.Pool, 'query'>,
  input: FinishInput,
  method: string,
): Promise<void> {
  // Failures and cancellations are audited here; a delivered order's DELIVERED row tells it already.
  const audited =
    input.outcome === 'FAILED' || input.outcome === 'CANCELLED'
      ? auditEach(
          'ended',
          {
            orderId: input.orderId,
            event: input.outcome,
            actor: 'worker',
            method,
            count: input.deliveredCards,
            detail: { reason: input.failureReason },
          },
          4,
        )
      : undefined;
  const { rows } = await db.query<{ ended: number }>({
    name: audited ? 'record-outcome-audited' : 'record-outcome',
    text: `WITH ended AS (
       UPDATE orders SET outcome = $2, failure_reason = $3,
         provider_status = coalesce($4, provider_status), updated_at = now()
       WHERE order_id = $1 AND outcome IS NULL RETURNING 1)
     ${audited ? `, audited AS (${audited.sql})` : ''}
     SELECT count(*)::int AS ended FROM ended`,
    values: [
      input.orderId,
      input.outcome,
      input.failureReason,
      input.providerStatus,
      ...(audited?.params ?? []),
    ],
  });
  if (rows[0]?.ended) metrics.ordersFinished.inc({ outcome: input.outcome });
}
