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
import { audit, auditEach } from '../lib/audit';
import { withTransaction } from '../lib/db';
import { metrics } from '../lib/metrics';
import { generateToken, hashToken } from '../lib/tokens';
import { type ActivityDeps, mailVoiceOf } from './deps';
import { auditActor, recordOutcome } from './lifecycle';

/**
 * Sends one link for one delivery. The delivery row (deterministic id) fixes its cards and expiry on the
 * first attempt; every later attempt revokes the tokens an earlier one may have minted before minting its
 * own, so a retry after a crash never leaves two live links for the same delivery.
 */
export function deliverActivity(deps: ActivityDeps): OrderActivities['deliver'] {
  return async function deliver(input: DeliverInput): Promise<DeliverResult> {
    const { orderId, deliveryId } = input;
    const newToken = generateToken();
    const { delivery, token, revoked } =
      (await createDelivery(deps.db, input, newToken)) ??
      (await withTransaction(deps.db, (tx) => prepareAgain(tx, input, newToken)));
    // This link completes the order only with the cards the workflow counted on; otherwise it finishes it.
    const finished = input.finish !== undefined && delivery.card_count === input.finish.expectCards;
    const result = { deliveryId, cardCount: delivery.card_count, expiresAt: delivery.expires_at.getTime() };
    if (token === null) return result;

    // The order's language travels with the link, so its pages speak it too (the browser's otherwise).
    const lang = input.locale ? `?lang=${encodeURIComponent(input.locale)}` : '';
    const link = `${deps.publicBaseUrl.replace(/\/+$/, '')}/d/${token}${lang}`;
    const mailVoice = await mailVoiceOf(deps, orderId, input.locale);
    try {
      await deps.mailer.send(
        input.recipient,
        deliveryMail({
          ...mailVoice,
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
    const firstLinkAfter = await recordSent(deps.db, input, delivery);
    if (finished) await recordOutcome(deps.db, input.finish!, `activity:deliver:${input.kind}`);
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
 * The cards a delivery covers ($2 its order, $3 its kind, the parameter `revealedOut` whether cards a link
 * revealed are left out): a batch, those no earlier batch covered; a resend, every stored card of the
 * order, or for a recipient correction only those in no delivery whose link was used (revealed or
 * downloaded: its token consumed), so that a correction never re-delivers what someone already saw.
 */
const coveredCards = (revealedOut: string) => `SELECT c.id FROM cards c WHERE c.order_id = $2 AND (
  ($3::text = 'resend' AND (NOT ${revealedOut}::boolean OR NOT EXISTS (
    SELECT 1 FROM delivery_cards dc JOIN delivery_tokens t ON t.delivery_id = dc.delivery_id
    WHERE dc.card_id = c.id AND t.consumed_at IS NOT NULL)))
  OR ($3::text <> 'resend' AND NOT EXISTS (
    SELECT 1 FROM delivery_cards dc JOIN deliveries d ON d.id = dc.delivery_id
    WHERE dc.card_id = c.id AND d.kind = 'batch')))`;

interface Prepared {
  delivery: { card_count: number; expires_at: Date; sent_at: Date | null };
  /** The link's token, minted and stored (its hash) with the delivery; null: nothing to send. */
  token: string | null;
  /** Tokens of earlier attempts revoked before this one was minted. */
  revoked: number;
}

/**
 * A delivery's first attempt, in one statement: the row, its cards, and when it has any, the token. Nothing
 * (undefined) when the row exists already: a retry, which prepareAgain handles.
 */
async function createDelivery(db: ActivityDeps['db'], input: DeliverInput, token: string) {
  const { rows } = await db.query<{ card_count: number; expires_at: Date }>({
    name: 'deliver-create',
    text: `WITH covered AS (${coveredCards('$6')}),
     created AS (
       INSERT INTO deliveries (id, order_id, kind, card_count, expires_at)
       SELECT $1, $2, $3, count(*), now() + make_interval(secs => $4::double precision / 1000) FROM covered
       ON CONFLICT (id) DO NOTHING RETURNING card_count, expires_at),
     linked AS (INSERT INTO delivery_cards (delivery_id, card_id) SELECT $1, covered.id FROM covered, created),
     minted AS (
       INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at)
       SELECT $5, $1, $2, expires_at FROM created WHERE card_count > 0)
     SELECT card_count, expires_at FROM created`,
    values: [
      input.deliveryId,
      input.orderId,
      input.kind,
      input.linkTtlMs,
      hashToken(token),
      input.unrevealedOnly === true,
    ],
  });
  const created = rows[0];
  if (!created) return undefined;
  return {
    delivery: { ...created, sent_at: null },
    token: created.card_count > 0 ? token : null,
    revoked: 0,
  } satisfies Prepared;
}

/**
 * A later attempt of a delivery, with its row locked: a sent one sends nothing; one that found no cards yet
 * looks again; one whose earlier attempt minted a token (whose email may have gone out before the attempt
 * was lost) revokes it, and the new link lives its full TTL from now.
 */
async function prepareAgain(tx: pg.PoolClient, input: DeliverInput, token: string): Promise<Prepared> {
  const { deliveryId } = input;
  const { rows } = await tx.query<Prepared['delivery']>(
    'SELECT card_count, expires_at, sent_at FROM deliveries WHERE id = $1 FOR UPDATE',
    [deliveryId],
  );
  const delivery = rows[0]!;
  if (delivery.sent_at !== null) return { delivery, token: null, revoked: 0 };
  if (delivery.card_count === 0) {
    const { rowCount } = await tx.query(
      `INSERT INTO delivery_cards (delivery_id, card_id) SELECT $1, id FROM (${coveredCards('$4')}) covered
       ON CONFLICT DO NOTHING`,
      [deliveryId, input.orderId, input.kind, input.unrevealedOnly === true],
    );
    delivery.card_count = rowCount ?? 0;
    if (delivery.card_count === 0) return { delivery, token: null, revoked: 0 };
  }
  const revoked = await revokeTokens(tx, input, 'delivery retried');
  const minted = await tx.query<{ expires_at: Date }>(
    `UPDATE deliveries SET card_count = $2,
       expires_at = now() + make_interval(secs => $3::double precision / 1000)
     WHERE id = $1 RETURNING expires_at`,
    [deliveryId, delivery.card_count, input.linkTtlMs],
  );
  delivery.expires_at = minted.rows[0]!.expires_at;
  await tx.query(
    'INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at) VALUES ($1, $2, $3, $4)',
    [hashToken(token), deliveryId, input.orderId, delivery.expires_at],
  );
  return { delivery, token, revoked };
}

/**
 * The link went out: the delivery's sent time, the order's first delivery (and the retention it starts),
 * the DELIVERED row, in one statement. How long the order waited for its first link, when this was it.
 */
async function recordSent(
  db: ActivityDeps['db'],
  input: DeliverInput,
  delivery: Prepared['delivery'],
): Promise<number | null> {
  const audited = auditEach(
    'delivered',
    {
      orderId: input.orderId,
      event: 'DELIVERED',
      actor: 'worker',
      method: `activity:deliver:${input.kind}`,
      count: delivery.card_count,
      detail: {
        deliveryId: input.deliveryId,
        expiresAt: delivery.expires_at.toISOString(),
        channel: 'email',
        // Free text in an update's argument: only a plain name reaches the append-only trail.
        ...(input.requestedBy ? { requestedBy: auditActor(input.requestedBy) } : {}),
        ...(input.recipientChanged ? { recipientChanged: true } : {}),
        ...(input.unrevealedOnly ? { unrevealedOnly: true } : {}),
      },
    },
    3,
  );
  // now() is the statement's start: delivered_at equals it only when this link is the order's first.
  const { rows } = await db.query<{ first_link_after: number | null }>({
    name: 'deliver-sent',
    text: `WITH sent AS (UPDATE deliveries SET sent_at = now() WHERE id = $1),
     delivered AS (
       UPDATE orders SET delivered_at = coalesce(delivered_at, now()),
         purge_after = CASE WHEN delivered_at IS NULL
           THEN now() + make_interval(secs => $3::double precision / 1000) ELSE purge_after END,
         updated_at = now()
       WHERE order_id = $2
       RETURNING CASE WHEN delivered_at = now() THEN extract(epoch FROM now() - created_at)::float8 END
         AS first_link_after),
     audited AS (${audited.sql})
     SELECT first_link_after FROM delivered`,
    values: [input.deliveryId, input.orderId, input.retentionMs, ...audited.params],
  });
  return rows[0]?.first_link_after ?? null;
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
