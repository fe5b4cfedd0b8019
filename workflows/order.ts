/**
 * One gift card order, from the provider's first answer to the deletion of its cards.
 *
 * 1. Collect: poll the provider until the order is final or the deadline passes. The collect activity
 *    stores new cards encrypted and only returns when something changed, so the waiting happens in
 *    Temporal's retry backoff and history grows with progress, not with time. `checkNow` polls at once.
 * 2. Deliver: email the customer a one-time link (per batch with `deliverPartial`, else one at FULFILLED),
 *    or a notice when the order failed.
 * 3. Aftercare: each link expires on its own timer; `resendLink` replaces the live link; the cards are
 *    purged at retention, after retrieval when the policy says so, on `cancel` or on `purgeNow`.
 */
import type { Duration, SearchAttributeUpdatePair } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import * as wf from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { CardCountKey, OrderOutcomeKey, OrderStatusKey } from './search-attributes';
import type {
  CollectResult,
  DeliverResult,
  NoticeKind,
  OrderInput,
  OrderOutcome,
  OrderState,
  OrderStatusView,
  ProviderStatus,
  PurgeInput,
} from './types';
import { NON_RETRYABLE_PROVIDER_FAILURES } from './types';

type Activities = ReturnType<typeof createActivities>;

export const statusQuery = wf.defineQuery<OrderStatusView>('status');
export const checkNowSignal = wf.defineSignal('checkNow');
export const cancelSignal = wf.defineSignal<[{ reason?: string }?]>('cancel');
export const retrievedSignal = wf.defineSignal<[{ deliveryId: string }]>('retrieved');
export const extendRetentionSignal = wf.defineSignal<[{ by: string }]>('extendRetention');
export const purgeNowSignal = wf.defineSignal('purgeNow');
export const resendLinkUpdate = wf.defineUpdate<DeliverResult>('resendLink');

const steps = wf.proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const FINAL: ProviderStatus[] = ['FULFILLED', 'FAILED', 'CANCELLED'];
const HISTORY_LIMIT = 5_000;

type PollOutcome =
  | { kind: 'progress'; result: CollectResult }
  | { kind: 'interrupted' }
  | { kind: 'deadline' }
  | { kind: 'provider-error'; type: string; message: string };

export async function giftCardOrder(input: OrderInput, carried?: OrderState): Promise<OrderStatusView> {
  const { orderId, policy } = input;
  const state: OrderState = carried ?? newState(policy.deadline);
  let pollScope: wf.CancellationScope | undefined;
  let cancelRequested: { reason: string } | null = null;
  let purgeRequested = false;
  let retentionChanged = false;
  let published = '';
  const armed = new Set<string>();

  wf.setHandler(statusQuery, () => view(orderId, state));
  wf.setHandler(checkNowSignal, () => pollScope?.cancel());
  wf.setHandler(cancelSignal, (arg) => requestCancel(arg?.reason ?? 'cancelled by operator'));
  wf.setHandler(retrievedSignal, ({ deliveryId }) => {
    const delivery = state.deliveries.find((d) => d.id === deliveryId);
    if (delivery) delivery.retrieved = true;
  });
  wf.setHandler(extendRetentionSignal, async ({ by }) => {
    const byMs = positiveDuration(by);
    if (byMs === null) {
      // A bad value from the UI or CLI must not wedge the order: ignore it, say so.
      wf.log.warn('extendRetention ignored: not a positive duration', { by: String(by).slice(0, 32) });
      return;
    }
    state.retentionExtraMs += byMs;
    if (state.purgeAt !== null) state.purgeAt += byMs;
    retentionChanged = true;
    await steps.recordRetention({ orderId, purgeAt: state.purgeAt, byMs, by });
  });
  wf.setHandler(purgeNowSignal, () => {
    // While the provider is still filling the order, purging it means ending it: nothing may follow.
    if (state.phase === 'collecting') requestCancel('purge requested by an operator');
    else purgeRequested = true;
  });
  wf.setHandler(
    resendLinkUpdate,
    async () => {
      await steps.revokeLinks({ orderId, reason: 'resend' });
      state.deliveries.forEach((d) => {
        d.superseded = true;
      });
      return deliver('resend');
    },
    {
      validator: () => {
        if (state.stored === 0) throw new Error('this order has no stored cards to send');
        if (state.phase === 'purged' || state.phase === 'cancelled')
          throw new Error(`order is ${state.phase}`);
      },
    },
  );

  function requestCancel(reason: string): void {
    cancelRequested ??= { reason };
    pollScope?.cancel();
  }

  /** purgeOnRetrieval waits until every link still standing was used, not just one of them. */
  function allRetrieved(): boolean {
    const live = state.deliveries.filter((d) => !d.superseded);
    return live.length > 0 && live.every((d) => d.retrieved);
  }

  /** What operators filter by in the UI (no PII); upserted only on change, so polls add no history. */
  function publishStatus(): void {
    const pairs: SearchAttributeUpdatePair[] = [
      { key: OrderStatusKey, value: state.phase },
      { key: CardCountKey, value: state.stored },
    ];
    if (state.outcome) pairs.push({ key: OrderOutcomeKey, value: state.outcome });
    const signature = pairs.map((p) => p.value).join('|');
    if (signature === published) return;
    published = signature;
    wf.upsertSearchAttributes(pairs);
  }

  async function deliver(kind: 'batch' | 'resend'): Promise<DeliverResult> {
    const deliveryId = `${orderId}#${state.nextDeliverySeq++}`;
    const result = await steps.deliver({
      orderId,
      deliveryId,
      recipient: input.recipient,
      kind,
      linkTtlMs: msToNumber(policy.linkTtl),
      retentionMs: msToNumber(policy.retention) + state.retentionExtraMs,
    });
    if (result.cardCount > 0) {
      const record = {
        id: deliveryId,
        cardCount: result.cardCount,
        expiresAt: result.expiresAt,
        expired: false,
        superseded: false,
        retrieved: false,
      };
      state.deliveries.push(record);
      if (kind === 'batch') state.delivered += result.cardCount;
      state.deliveredAt ??= Date.now();
      expireOnTime(record);
    }
    return result;
  }

  /** Arms a delivery's expiry timer once per run (deliveries carried over by continue-as-new re-arm). */
  function expireOnTime(record: OrderState['deliveries'][number]): void {
    if (armed.has(record.id)) return;
    armed.add(record.id);
    void (async () => {
      await wf.sleep(Math.max(1, record.expiresAt - Date.now()));
      if (record.expired || record.superseded || state.phase === 'purged') return;
      await steps.expireDelivery({ orderId, deliveryId: record.id });
      record.expired = true;
    })();
  }

  async function poll(): Promise<PollOutcome> {
    const remaining = state.deadlineAt - Date.now();
    if (remaining <= 0) return { kind: 'deadline' };
    const { collect } = wf.proxyActivities<Activities>({
      startToCloseTimeout: '2 minutes',
      scheduleToCloseTimeout: remaining,
      retry: {
        initialInterval: policy.pollInitialInterval,
        maximumInterval: policy.pollMaxInterval,
        backoffCoefficient: 2,
        nonRetryableErrorTypes: NON_RETRYABLE_PROVIDER_FAILURES,
      },
    });
    pollScope = new wf.CancellationScope();
    try {
      const result = await pollScope.run(() =>
        collect({
          orderId,
          knownStored: state.stored,
          knownStatus: state.providerStatus,
          pollInitialMs: msToNumber(policy.pollInitialInterval),
          pollMaxMs: msToNumber(policy.pollMaxInterval),
        }),
      );
      return { kind: 'progress', result };
    } catch (err) {
      if (wf.isCancellation(err)) {
        // The whole workflow was cancelled (the UI's button, `temporal workflow cancel`): end the order the
        // way the cancel signal does, instead of polling again in a cancelled scope.
        if (wf.CancellationScope.current().consideredCancelled)
          requestCancel('workflow cancellation requested');
        return { kind: 'interrupted' };
      }
      if (err instanceof wf.ActivityFailure && err.cause instanceof wf.TimeoutFailure)
        return { kind: 'deadline' };
      if (err instanceof wf.ActivityFailure && err.cause instanceof wf.ApplicationFailure) {
        const type = err.cause.type ?? 'Error';
        // A retryable failure only ends the activity when its next retry would pass the deadline.
        if (!NON_RETRYABLE_PROVIDER_FAILURES.includes(type as never)) return { kind: 'deadline' };
        return { kind: 'provider-error', type, message: err.cause.message };
      }
      throw err;
    } finally {
      pollScope = undefined;
    }
  }

  /**
   * Ends the collecting: delivers the stored cards no link covers yet (unless an operator stopped the
   * order), sets the outcome, tells the customer when the order fell short, and records it.
   */
  async function conclude(end: {
    outcomeWithoutCards: OrderOutcome;
    reason: string | null;
    notice: NoticeKind | null;
    deliverStored: boolean;
  }) {
    const { outcomeWithoutCards, reason, notice } = end;
    state.phase = 'delivering';
    publishStatus();
    if (end.deliverStored && state.stored > state.delivered) await deliver('batch');
    const complete = state.quantity !== null && state.delivered >= state.quantity;
    state.outcome =
      state.delivered === 0 ? outcomeWithoutCards : complete ? 'DELIVERED' : 'PARTIALLY_DELIVERED';
    state.failureReason = reason;
    if (notice && (state.delivered === 0 || state.outcome !== 'DELIVERED')) {
      await steps.notifyCustomer({
        orderId,
        recipient: input.recipient,
        kind: notice,
        deliveredCards: state.delivered,
        quantity: state.quantity,
      });
    }
    await steps.finishOrder({
      orderId,
      outcome: state.outcome,
      providerStatus: state.providerStatus,
      failureReason: reason,
      deliveredCards: state.delivered,
    });
    state.phase = state.delivered > 0 ? 'delivered' : state.outcome === 'CANCELLED' ? 'cancelled' : 'failed';
    publishStatus();
  }

  async function purge(reason: PurgeInput['reason']) {
    await wf.condition(wf.allHandlersFinished);
    await steps.purgeOrder({ orderId, reason });
    state.phase = 'purged';
    publishStatus();
  }

  // ---------------------------------------------------------------- the order's story
  publishStatus();
  for (const d of state.deliveries) if (!d.expired && !d.superseded) expireOnTime(d);
  if (!carried) {
    await steps.registerOrder({
      orderId,
      userId: input.userId,
      workflowId: wf.workflowInfo().workflowId,
      policy,
    });
  }

  // 1. Collect until the provider is done, the deadline passes, or an operator cancels.
  while (state.phase === 'collecting') {
    if (cancelRequested) break;
    if (historyTooLong()) {
      await wf.condition(wf.allHandlersFinished);
      if (cancelRequested) break; // a signal the next run would never see
      await wf.continueAsNew<typeof giftCardOrder>(input, state);
    }
    const outcome = await poll();
    state.polls++;
    if (outcome.kind === 'interrupted') continue;
    if (outcome.kind === 'deadline') {
      const reason = state.stored > 0 ? null : 'deadline passed with no card fulfilled';
      await conclude({ outcomeWithoutCards: 'FAILED', reason, notice: 'deadline', deliverStored: true });
      break;
    }
    if (outcome.kind === 'provider-error') {
      const reason = `${outcome.type}: ${outcome.message}`;
      await conclude({ outcomeWithoutCards: 'FAILED', reason, notice: 'failed', deliverStored: true });
      break;
    }
    const { result } = outcome;
    state.providerStatus = result.status;
    state.quantity = result.quantity;
    state.stored = result.stored;
    publishStatus();
    const final = FINAL.includes(result.status);
    if (policy.deliverPartial && !final && state.stored > state.delivered) await deliver('batch');
    if (result.status === 'FULFILLED') {
      const short = state.stored < result.quantity;
      await conclude({
        outcomeWithoutCards: 'FAILED',
        reason: short ? `the provider fulfilled ${state.stored} of ${result.quantity} cards` : null,
        notice: short ? 'failed' : null,
        deliverStored: true,
      });
    } else if (result.status === 'FAILED' || result.status === 'CANCELLED') {
      // Cards the provider issued before it gave up were paid for: the customer gets them.
      await conclude({
        outcomeWithoutCards: result.status,
        reason: `the provider reported the order as ${result.status}`,
        notice: result.status === 'FAILED' ? 'failed' : 'cancelled',
        deliverStored: true,
      });
    }
  }

  // 2'. Stopped by an operator: no further link, the live ones revoked, the cards purged. It runs to the
  // end even when the stop was a cancellation of the workflow itself.
  if (cancelRequested) {
    const { reason } = cancelRequested;
    await wf.CancellationScope.nonCancellable(async () => {
      await steps.revokeLinks({ orderId, reason: 'cancelled' });
      if (state.outcome === null) {
        await conclude({
          outcomeWithoutCards: 'CANCELLED',
          reason,
          notice: 'cancelled',
          deliverStored: false,
        });
      }
      await purge('cancelled');
    });
    return view(orderId, state);
  }

  // 3. Aftercare: links expire on their timers; the cards wait for retention, retrieval or an operator.
  state.purgeAt ??=
    (state.deliveredAt ?? Date.now()) +
    (state.stored > 0 ? msToNumber(policy.retention) + state.retentionExtraMs : 0);
  let purgeReason: PurgeInput['reason'] = 'retention';
  for (;;) {
    retentionChanged = false;
    let woken: boolean;
    try {
      woken = await wf.condition(
        () =>
          cancelRequested !== null ||
          purgeRequested ||
          retentionChanged ||
          (policy.purgeOnRetrieval && allRetrieved()),
        Math.max(1, state.purgeAt - Date.now()),
      );
    } catch (err) {
      if (!wf.isCancellation(err)) throw err;
      requestCancel('workflow cancellation requested');
      woken = true;
    }
    if (!woken) break;
    if (cancelRequested) {
      purgeReason = 'cancelled';
      break;
    }
    if (purgeRequested) {
      purgeReason = 'operator';
      break;
    }
    if (policy.purgeOnRetrieval && allRetrieved()) {
      purgeReason = 'retrieved';
      break;
    }
  }
  await wf.CancellationScope.nonCancellable(async () => {
    if (purgeReason === 'cancelled') await steps.revokeLinks({ orderId, reason: 'cancelled' });
    await purge(purgeReason);
  });
  return view(orderId, state);
}

/** A duration in Temporal notation, in ms, or null when it is not a positive one. */
function positiveDuration(value: unknown): number | null {
  try {
    const ms = typeof value === 'string' ? msToNumber(value as Duration) : Number.NaN;
    return Number.isFinite(ms) && ms > 0 ? ms : null;
  } catch {
    return null;
  }
}

function historyTooLong(): boolean {
  const info = wf.workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > HISTORY_LIMIT;
}

function newState(deadline: string): OrderState {
  const now = Date.now();
  return {
    phase: 'collecting',
    providerStatus: null,
    quantity: null,
    stored: 0,
    delivered: 0,
    deliveries: [],
    nextDeliverySeq: 1,
    startedAt: now,
    deadlineAt: now + msToNumber(deadline),
    deliveredAt: null,
    purgeAt: null,
    retentionExtraMs: 0,
    outcome: null,
    failureReason: null,
    polls: 0,
  };
}

function view(orderId: string, s: OrderState): OrderStatusView {
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
  };
}
