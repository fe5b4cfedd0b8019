import { ApplicationFailure } from '@temporalio/activity';
import {
  type DeliverInput,
  type DeliverResult,
  type OrderActivities,
  RECIPIENT_REFUSED,
} from '../contracts/order';
import { MailRefused } from '../domain/mail/mailer';
import { deliveryMail } from '../domain/mail/templates';
import { withTransaction } from '../lib/db';
import { metrics } from '../lib/metrics';
import { generateToken, hashToken } from '../lib/tokens';
import { audit } from '../store/audit';
import {
  type Minted,
  mintDelivery,
  REFUSED_BY_DATABASE,
  recordSent as recordSentRow,
  refuseDelivery,
} from '../store/deliveries';
import { type ActivityDeps, mailVoiceOf } from './deps';
import { auditActor, recordOutcome } from './lifecycle';

/**
 * Sends one link for one delivery. The delivery row (deterministic id) fixes its cards and expiry on the
 * first attempt; every later attempt revokes the tokens an earlier one may have minted before minting its
 * own, so a retry after a crash never leaves two live links for the same delivery.
 */
export function deliverActivity(deps: ActivityDeps): OrderActivities['deliver'] {
  const mint = mintWith(deps);
  return async function deliver(input: DeliverInput): Promise<DeliverResult> {
    const { orderId, deliveryId } = input;
    const newToken = generateToken();
    const minted = await mint(input, newToken);
    const delivery = { card_count: minted.cardCount, expires_at: minted.expiresAt };
    const token = minted.minted ? newToken : null;
    const revoked = minted.revoked;
    if (revoked > 0) await recordRevoked(deps, input, revoked, 'delivery retried');
    // This link completes the order only with the cards the workflow counted on; otherwise it finishes it.
    const finished = input.finish !== undefined && delivery.card_count === input.finish.expectCards;
    const result = { deliveryId, cardCount: delivery.card_count, expiresAt: delivery.expires_at.getTime() };
    // An earlier attempt's link was used before it reported back: it was sent, and is recorded as such.
    if (minted.linkUsed && minted.sentAt === null) {
      await recordSent(deps.db, input, delivery);
      if (finished) await recordOutcome(deps.db, input.finish!, `activity:deliver:${input.kind}`);
      return finished ? { ...result, finished } : result;
    }
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
 * The delivery's row, cards and token by the database's mint_delivery() (store/deliveries): the only way a
 * link is made. It decides which cards (a batch: those no earlier batch covered; a resend: those its
 * request allows) and refuses a resend nobody asked for, which is final for this attempt and every other.
 */
function mintWith(deps: ActivityDeps) {
  return async (input: DeliverInput, token: string): Promise<Minted> => {
    try {
      return await mintDelivery(deps.db, {
        deliveryId: input.deliveryId,
        orderId: input.orderId,
        kind: input.kind,
        ttlMs: input.linkTtlMs,
        tokenHash: hashToken(token),
      });
    } catch (err) {
      if ((err as { code?: string }).code !== REFUSED_BY_DATABASE) throw err;
      deps.log.warn({ orderId: input.orderId, deliveryId: input.deliveryId }, 'link refused by the database');
      throw ApplicationFailure.nonRetryable(
        input.kind === 'resend'
          ? "no resend request of the order's caller or an operator is open for this order"
          : 'the database refused this delivery',
        LINK_REFUSED,
      );
    }
  };
}

/** The failure type of a delivery the database refused to make a link for. */
const LINK_REFUSED = 'LinkRefused';

/**
 * The link went out: the delivery's sent time, the order's first delivery (and the retention it starts),
 * the DELIVERED row, in one statement. How long the order waited for its first link, when this was it.
 */
async function recordSent(
  db: ActivityDeps['db'],
  input: DeliverInput,
  delivery: { card_count: number; expires_at: Date },
): Promise<number | null> {
  return recordSentRow(
    db,
    { deliveryId: input.deliveryId, orderId: input.orderId, retentionMs: input.retentionMs },
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
  );
}

/**
 * A link email refused for good: its link never reached anyone, so it is revoked, and its cards count as
 * covered by no batch again (a corrected resend or the next batch takes them). Audited without the address.
 */
async function recordRefusal(deps: ActivityDeps, input: DeliverInput, cards: number, err: MailRefused) {
  await withTransaction(deps.db, async (tx) => {
    const revoked = await refuseDelivery(tx, input.deliveryId);
    await recordRevoked({ ...deps, db: tx }, input, revoked, 'recipient refused');
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

/** Tokens of a delivery revoked (by the database's functions): counted, and a REVOKED audit row. */
async function recordRevoked(
  deps: { db: Parameters<typeof audit>[0] },
  input: Pick<DeliverInput, 'orderId' | 'deliveryId' | 'kind'>,
  count: number,
  reason: 'delivery retried' | 'recipient refused',
): Promise<void> {
  metrics.links.inc({ event: 'revoked' }, count);
  if (count === 0) return;
  await audit(deps.db, {
    orderId: input.orderId,
    event: 'REVOKED',
    actor: 'worker',
    method: `activity:deliver:${input.kind}`,
    count,
    detail: { deliveryId: input.deliveryId, reason },
  });
}
