/**
 * What the order workflow remembers and the arithmetic over it: deliveries, retention, the outcome, and the
 * `status` view. Pure functions of the state and the workflow's clock, so the story in `order.ts` reads
 * as steps and these rules can be tested on their own.
 */
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type {
  CollectResult,
  CompletingDelivery,
  DeliverResult,
  DeliveryKind,
  DeliveryRecord,
  OrderInput,
  OrderOutcome,
  OrderPolicy,
  OrderState,
  OrderStatusView,
  WebhookEventData,
  WebhookEventType,
  WebhookState,
} from '../contracts/order';

export function newState(policy: OrderPolicy, now: number): OrderState {
  return {
    phase: 'collecting',
    providerStatus: null,
    quantity: null,
    stored: 0,
    delivered: 0,
    deliveries: [],
    nextDeliverySeq: 1,
    startedAt: now,
    deadlineAt: now + msToNumber(policy.deadline as Duration),
    deliveredAt: null,
    purgeAt: null,
    retentionExtraMs: 0,
    outcome: null,
    failureReason: null,
    polls: 0,
    webhooks: newWebhookState(),
    recipientRefused: null,
  };
}

export function newWebhookState(): WebhookState {
  return { nextSequence: 1, outbox: [], delivered: 0, undeliverable: [], stopped: null };
}

/**
 * Queues an event for the order's caller, numbered in sequence; nothing when the order has no caller or
 * its endpoint stopped taking events.
 */
export function emitEvent(
  hooks: WebhookState,
  event: { id: string; orderId: string; type: WebhookEventType; data: WebhookEventData; now: number },
  caller: string | undefined,
): void {
  if (!caller || hooks.stopped) return;
  hooks.outbox.push({
    id: event.id,
    type: event.type,
    orderId: event.orderId,
    sequence: hooks.nextSequence++,
    occurredAt: new Date(event.now).toISOString(),
    data: event.data,
  });
}

/** The event that says how the order ended. */
export function outcomeEvent(outcome: OrderOutcome): WebhookEventType {
  const types = {
    DELIVERED: 'order.delivered',
    PARTIALLY_DELIVERED: 'order.partially_delivered',
    FAILED: 'order.failed',
    CANCELLED: 'order.cancelled',
  } as const;
  return types[outcome];
}

/** What the provider reported, as far as the workflow keeps it. */
export function recordCollect(state: OrderState, result: CollectResult): void {
  state.providerStatus = result.status;
  state.quantity = result.quantity;
  state.stored = result.stored;
}

/** Stored cards that no batch link covers yet. */
export function hasUndelivered(state: OrderState): boolean {
  return state.stored > state.delivered;
}

/** Deterministic per order and sequence, so a retried deliver activity finds its own row. */
/** The id the next delivery takes (a poll that may send the completing link is given it in advance). */
export function pendingDeliveryId(state: OrderState, orderId: string): string {
  return `${orderId}#${state.nextDeliverySeq}`;
}

export function nextDeliveryId(state: OrderState, orderId: string): string {
  const id = pendingDeliveryId(state, orderId);
  state.nextDeliverySeq++;
  return id;
}

/** Records a sent link; null when the delivery had no card to send (nothing to expire, nothing kept). */
export function recordDelivery(
  state: OrderState,
  kind: DeliveryKind,
  result: DeliverResult,
  now: number,
): DeliveryRecord | null {
  if (result.cardCount === 0) return null;
  const record: DeliveryRecord = {
    id: result.deliveryId,
    cardCount: result.cardCount,
    expiresAt: result.expiresAt,
    expired: false,
    superseded: false,
    retrieved: false,
  };
  state.deliveries.push(record);
  if (kind === 'batch') state.delivered += result.cardCount;
  state.deliveredAt ??= now;
  return record;
}

/** A resend revokes every earlier link: none of them counts as standing any more. */
export function supersedeDeliveries(state: OrderState): void {
  for (const d of state.deliveries) d.superseded = true;
}

/** True when this is news: a delivery of this order that was not retrieved before. */
export function markRetrieved(state: OrderState, deliveryId: string): boolean {
  const delivery = state.deliveries.find((d) => d.id === deliveryId);
  if (!delivery || delivery.retrieved) return false;
  delivery.retrieved = true;
  return true;
}

const EARLY_RETRIEVALS_KEPT = 8;

/**
 * Whether a link this order has not recorded may be one it is sending: a delivery it has begun (its
 * sequence already assigned, or the one a poll is sending). A retrieved signal can outrun the step that
 * sent the link; any other unknown id is not this order's, and is ignored.
 */
export function mayBeInFlight(state: OrderState, orderId: string, deliveryId: string): boolean {
  const seq = deliveryId.startsWith(`${orderId}#`) ? deliveryId.slice(orderId.length + 1) : '';
  return (
    /^[1-9]\d{0,8}$/.test(seq) &&
    Number(seq) <= state.nextDeliverySeq &&
    !state.deliveries.some((d) => d.id === deliveryId)
  );
}

/** Keeps a link used before it was recorded (a few at most: a delivery that never records leaves one). */
export function rememberEarlyRetrieval(state: OrderState, deliveryId: string): void {
  state.retrievedEarly ??= [];
  const early = state.retrievedEarly;
  if (early.includes(deliveryId)) return;
  if (early.length >= EARLY_RETRIEVALS_KEPT) early.shift();
  early.push(deliveryId);
}

/** Whether the link just recorded was used before it was: then it is retrieved now (and no longer kept). */
export function takeEarlyRetrieval(state: OrderState, deliveryId: string): boolean {
  const i = state.retrievedEarly?.indexOf(deliveryId) ?? -1;
  if (i < 0) return false;
  state.retrievedEarly?.splice(i, 1);
  return true;
}

/** Links that still stand: neither expired nor replaced, so their expiry timers must run. */
export function standingDeliveries(state: OrderState): DeliveryRecord[] {
  return state.deliveries.filter((d) => !d.expired && !d.superseded);
}

/** purgeOnRetrieval waits until every link still standing was used, not just one of them. */
export function allRetrieved(state: OrderState): boolean {
  const live = state.deliveries.filter((d) => !d.superseded);
  return live.length > 0 && live.every((d) => d.retrieved);
}

/** The order's outcome once collecting ended: what was delivered decides, unless nothing was. */
export function outcomeOf(state: OrderState, withoutCards: OrderOutcome): OrderOutcome {
  if (state.delivered === 0) return withoutCards;
  const complete = state.quantity !== null && state.delivered >= state.quantity;
  return complete ? 'DELIVERED' : 'PARTIALLY_DELIVERED';
}

/** The phase an order rests in after its outcome, until its cards are purged. */
export function concludedPhase(state: OrderState): OrderState['phase'] {
  if (state.delivered > 0) return 'delivered';
  return state.outcome === 'CANCELLED' ? 'cancelled' : 'failed';
}

/** What every link's step is given: its delivery id, the recipient, the link's lifetime, the retention. */
export function linkFields(
  state: OrderState,
  input: OrderInput,
  deliveryId: string,
): Omit<CompletingDelivery, 'deliveredCards'> {
  return {
    deliveryId,
    recipient: state.recipientOverride ?? input.recipient,
    linkTtlMs: msToNumber(input.policy.linkTtl as Duration),
    retentionMs: retentionMs(state, input.policy),
    // Only when the order has one: an order without stays the input it always was.
    ...(input.locale ? { locale: input.locale } : {}),
  };
}

/** Retention in ms for a delivery made now: the policy's, plus every extension so far. */
export function retentionMs(state: OrderState, policy: OrderPolicy): number {
  return msToNumber(policy.retention as Duration) + state.retentionExtraMs;
}

/**
 * When the cards go: retention after the first delivery, or at once when nothing was ever stored. Set
 * once, when aftercare begins; extensions move it later.
 */
export function settlePurgeTime(state: OrderState, policy: OrderPolicy, now: number): number {
  state.purgeAt ??= (state.deliveredAt ?? now) + (state.stored > 0 ? retentionMs(state, policy) : 0);
  return state.purgeAt;
}

export function extendRetention(state: OrderState, byMs: number): void {
  state.retentionExtraMs += byMs;
  if (state.purgeAt !== null) state.purgeAt += byMs;
}

/** What a resend may be sent to: one address, plausibly shaped (the mail server has the last word). */
export function isRecipient(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= 254 &&
    /^[^@\s<>,;"]+@[^@\s<>,;"]+\.[^@\s<>,;"]+$/.test(value)
  );
}

/** A duration in Temporal notation, in ms, or null when it is not a positive one. */
export function positiveDuration(value: unknown): number | null {
  try {
    const ms = typeof value === 'string' ? msToNumber(value as Duration) : Number.NaN;
    return Number.isFinite(ms) && ms > 0 ? ms : null;
  } catch {
    return null;
  }
}

export function view(orderId: string, s: OrderState): OrderStatusView {
  const iso = (t: number) => new Date(t).toISOString();
  return {
    orderId,
    phase: s.phase,
    providerStatus: s.providerStatus,
    quantity: s.quantity,
    storedCards: s.stored,
    deliveredCards: s.delivered,
    deliveries: s.deliveries.map((d) => ({
      id: d.id,
      cardCount: d.cardCount,
      expiresAt: iso(d.expiresAt),
      expired: d.expired,
      superseded: d.superseded,
      retrieved: d.retrieved,
    })),
    deadlineAt: iso(s.deadlineAt),
    purgeAt: s.purgeAt === null ? null : iso(s.purgeAt),
    outcome: s.outcome,
    failureReason: s.failureReason,
    recipientRefused: s.recipientRefused,
    webhooks: {
      lastSequence: s.webhooks.nextSequence - 1,
      pending: s.webhooks.outbox.length,
      delivered: s.webhooks.delivered,
      undeliverable: [...s.webhooks.undeliverable],
      stopped: s.webhooks.stopped,
    },
  };
}
