import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import {
  type DeliverInput,
  type DeliverResult,
  type OrderActivities,
  RECIPIENT_REFUSED,
} from '../contracts/order';
import { MailRefused } from '../domain/mail/mailer';
import { deliveryMail } from '../domain/mail/templates';
import { audit } from '../lib/audit';
import { withTransaction } from '../lib/db';
import { metrics } from '../lib/metrics';
import { generateToken, hashToken } from '../lib/tokens';
import type { ActivityDeps } from './deps';
import { auditActor, recordOutcome } from './lifecycle';

/**
 * Sends one link for one delivery. The delivery row (deterministic id) fixes its cards and expiry on the
 * first attempt; every attempt revokes the tokens an earlier attempt may have minted before minting its
 * own, so a retry after a crash never leaves two live links for the same delivery.
 */
export function deliverActivity(deps: ActivityDeps): OrderActivities['deliver'] {
  return async function deliver(input: DeliverInput): Promise<DeliverResult> {
    const { orderId, deliveryId } = input;
    const prepared = await withTransaction(deps.db, async (tx) => {
      await tx.query(
        `INSERT INTO deliveries (id, order_id, kind, card_count, expires_at)
         VALUES ($1, $2, $3, 0, now() + make_interval(secs => $4::double precision / 1000))
         ON CONFLICT (id) DO NOTHING`,
        [deliveryId, orderId, input.kind, input.linkTtlMs],
      );
      const { rows } = await tx.query<{ card_count: number; expires_at: Date; sent_at: Date | null }>(
        'SELECT card_count, expires_at, sent_at FROM deliveries WHERE id = $1 FOR UPDATE',
        [deliveryId],
      );
      const delivery = rows[0]!;
      if (delivery.card_count === 0 && delivery.sent_at === null) {
        // batch: the cards no earlier batch covered; resend: every stored card of the order.
        const { rowCount } = await tx.query(
          `INSERT INTO delivery_cards (delivery_id, card_id)
           SELECT $1, c.id FROM cards c WHERE c.order_id = $2 AND ($3 = 'resend' OR NOT EXISTS (
             SELECT 1 FROM delivery_cards dc JOIN deliveries d ON d.id = dc.delivery_id
             WHERE dc.card_id = c.id AND d.kind = 'batch'))
           ON CONFLICT DO NOTHING`,
          [deliveryId, orderId, input.kind],
        );
        delivery.card_count = rowCount ?? 0;
        await tx.query('UPDATE deliveries SET card_count = $2 WHERE id = $1', [
          deliveryId,
          delivery.card_count,
        ]);
      }
      if (delivery.sent_at !== null || delivery.card_count === 0)
        return { delivery, token: null, revoked: 0 };
      // An earlier attempt that minted a token may have sent its email before it was lost.
      const revoked = await revokeTokens(tx, input, 'delivery retried');
      // The link lives its full TTL from the attempt that mints it, however long earlier attempts failed.
      const minted = await tx.query<{ expires_at: Date }>(
        `UPDATE deliveries SET expires_at = now() + make_interval(secs => $2::double precision / 1000)
         WHERE id = $1 RETURNING expires_at`,
        [deliveryId, input.linkTtlMs],
      );
      delivery.expires_at = minted.rows[0]!.expires_at;
      const token = generateToken();
      await tx.query(
        'INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at) VALUES ($1, $2, $3, $4)',
        [hashToken(token), deliveryId, orderId, delivery.expires_at],
      );
      return { delivery, token, revoked };
    });

    const { delivery, token, revoked } = prepared;
    // This link completes the order only with the cards the workflow counted on; otherwise it finishes it.
    const finished = input.finish !== undefined && delivery.card_count === input.finish.expectCards;
    const result = { deliveryId, cardCount: delivery.card_count, expiresAt: delivery.expires_at.getTime() };
    if (token === null) return result;

    const link = `${deps.publicBaseUrl.replace(/\/+$/, '')}/d/${token}`;
    try {
      await deps.mailer.send(
        input.recipient,
        deliveryMail({
          orderRef: orderId,
          cardCount: delivery.card_count,
          link,
          expiresAt: delivery.expires_at,
          // A resend replaces the links revoked just before it; a retried send, the one its first try minted.
          replacesEarlier: input.kind === 'resend' || revoked > 0,
        }),
      );
    } catch (err) {
      // Anything else (MailRefused says only the SMTP code) is retried, as an outage is.
      if (!(err instanceof MailRefused && err.permanent)) throw err;
      await recordRefusal(deps, input, delivery.card_count, err);
      metrics.deliveriesFailed.inc({ reason: 'recipient_refused' });
      throw ApplicationFailure.nonRetryable(err.message, RECIPIENT_REFUSED);
    }
    const firstLinkAfter = await withTransaction(deps.db, async (tx) => {
      await tx.query('UPDATE deliveries SET sent_at = now() WHERE id = $1', [deliveryId]);
      // now() is the transaction's start: delivered_at equals it only when this link is the order's first.
      const order = await tx.query<{ first_link_after: number | null }>(
        `UPDATE orders SET delivered_at = coalesce(delivered_at, now()),
           purge_after = CASE WHEN delivered_at IS NULL
             THEN now() + make_interval(secs => $2::double precision / 1000) ELSE purge_after END,
           updated_at = now()
         WHERE order_id = $1
         RETURNING CASE WHEN delivered_at = now() THEN extract(epoch FROM now() - created_at)::float8 END
           AS first_link_after`,
        [orderId, input.retentionMs],
      );
      if (finished) await recordOutcome(tx, input.finish!, `activity:deliver:${input.kind}`);
      await audit(tx, {
        orderId,
        event: 'DELIVERED',
        actor: 'worker',
        method: `activity:deliver:${input.kind}`,
        count: delivery.card_count,
        detail: {
          deliveryId,
          expiresAt: delivery.expires_at.toISOString(),
          channel: 'email',
          // Free text in an update's argument: only a plain name reaches the append-only trail.
          ...(input.requestedBy ? { requestedBy: auditActor(input.requestedBy) } : {}),
          ...(input.recipientChanged ? { recipientChanged: true } : {}),
        },
      });
      return order.rows[0]?.first_link_after ?? null;
    });
    metrics.links.inc({ event: 'sent' });
    if (firstLinkAfter !== null) metrics.startToDelivery.observe(firstLinkAfter);
    deps.log.info(
      { orderId, deliveryId, cardCount: delivery.card_count, kind: input.kind },
      'delivery link sent',
    );
    return finished ? { ...result, finished } : result;
  };
}

/**
 * A link email refused for good: its link never reached anyone, so it is revoked, and its cards count as
 * covered by no batch again (a corrected resend or the next batch takes them). Audited without the address.
 */
async function recordRefusal(deps: ActivityDeps, input: DeliverInput, cards: number, err: MailRefused) {
  await withTransaction(deps.db, async (tx) => {
    await revokeTokens(tx, input, 'recipient refused');
    await tx.query('DELETE FROM delivery_cards WHERE delivery_id = $1', [input.deliveryId]);
    await tx.query('UPDATE deliveries SET card_count = 0 WHERE id = $1', [input.deliveryId]);
    await audit(tx, {
      orderId: input.orderId,
      event: 'DELIVERY_FAILED',
      actor: 'worker',
      method: `activity:deliver:${input.kind}`,
      count: cards,
      detail: { deliveryId: input.deliveryId, smtpCode: err.smtpCode, permanent: true },
    });
  });
  deps.log.warn(
    { orderId: input.orderId, deliveryId: input.deliveryId, smtpCode: err.smtpCode },
    'link email refused',
  );
}

/** Revokes a delivery's tokens that were neither used nor revoked, with a REVOKED audit row; how many. */
async function revokeTokens(
  tx: pg.PoolClient,
  input: Pick<DeliverInput, 'orderId' | 'deliveryId' | 'kind'>,
  reason: 'delivery retried' | 'recipient refused',
): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE delivery_tokens SET revoked_at = now()
     WHERE delivery_id = $1 AND consumed_at IS NULL AND revoked_at IS NULL`,
    [input.deliveryId],
  );
  const count = rowCount ?? 0;
  metrics.links.inc({ event: 'revoked' }, count);
  if (count > 0) {
    await audit(tx, {
      orderId: input.orderId,
      event: 'REVOKED',
      actor: 'worker',
      method: `activity:deliver:${input.kind}`,
      count,
      detail: { deliveryId: input.deliveryId, reason },
    });
  }
  return count;
}
