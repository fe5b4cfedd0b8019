/**
 * One gift card order, from the provider's first answer to the deletion of its cards. `giftCardOrder`
 * sets the order up and runs its story; the steps follow it. Beside it: the state's rules
 * (order-state.ts), the shortcuts that complete an order in one step (completing-link.ts), the caller's
 * events (webhook-outbox.ts), the activities' options (steps.ts), what a step's failure says (failures.ts)
 * and what operators filter by (search-attributes.ts).
 */
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import * as wf from '@temporalio/workflow';
import {
  type CollectResult,
  cancelSignal,
  checkNowSignal,
  type DeliverInput,
  type DeliverResult,
  type DeliveryKind,
  type DeliveryRecord,
  extendRetentionSignal,
  isCallerRequest,
  isFinalProviderStatus,
  NON_RETRYABLE_PROVIDER_FAILURES,
  type NoticeKind,
  type OrderActivities,
  type OrderInput,
  type OrderOutcome,
  type OrderState,
  type OrderStatusView,
  type OrderStepInput,
  type PurgeReason,
  providerTaskQueue,
  purgeNowSignal,
  RECIPIENT_REFUSED,
  ResendRefusal,
  type ResendRequest,
  resendLinkUpdate,
  retrievedSignal,
  statusQuery,
  type WebhookEventData,
  type WebhookEventType,
} from '../contracts/order';
import { finishWithLink, linkForPoll, registration } from './completing-link';
import { failureOf, isOwnershipRefusal, type StepFailure } from './failures';
import * as rules from './order-state';
import { publishStatus } from './search-attributes';
import { MAIL_STEP_TIMEOUT, mail, steps } from './steps';
import { WebhookOutbox } from './webhook-outbox';

const HISTORY_LIMIT = 5_000;

/**
 * Changes to the story that orders already running must not see (docs/contributing.md, "Changing the
 * order's story"): each is taken only by runs that reach it on code that has it, and replays as it was
 * recorded otherwise. Remove one (deprecatePatch, then nothing) only once no order that began before it
 * can still be open.
 */
const PATCHES = {
  /** A link used before the step that sent it reported back counts as retrieved once recorded. */
  retrievedBeforeRecorded: 'retrieved-before-recorded',
  /**
   * A recipient correction sends only the cards no link revealed (none: it fails, NothingUnrevealed) and
   * then tells the previous address, without a link (DESIGN 3.13).
   */
  recipientCorrection: 'recipient-correction',
} as const;

export async function giftCardOrder(input: OrderInput, carried?: OrderState): Promise<OrderStatusView> {
  const order = new Order(input, carried);
  order.setup();
  return order.run();
}

/** How collecting ended, and so what the customer is told. */
interface Conclusion {
  outcomeWithoutCards: OrderOutcome;
  reason: string | null;
  notice: NoticeKind | null;
  /** The completing link, already sent (or refused) by the poll that found the order complete. */
  sentWithPoll?: NonNullable<CollectResult['delivery']>;
}

type Poll =
  | { kind: 'progress'; result: CollectResult }
  | { kind: 'interrupted' }
  | { kind: 'deadline' }
  | { kind: 'provider-error'; type: string; message: string };

class Order {
  private readonly state: OrderState;
  private readonly orderId: string;
  /**
   * What every step carries: the order, and this workflow's chain as the server assigned it (never the
   * input), which the activities compare with the order's registration (DESIGN 3.10).
   */
  private readonly step: OrderStepInput;
  private stopRequest: { reason: string } | null = null;
  private purgeRequested = false;
  private retentionChanged = false;
  private pollScope: wf.CancellationScope | undefined;
  /** A link email in flight: an operator's stop interrupts it (a mail server that keeps saying "later"). */
  private deliverScope: wf.CancellationScope | undefined;
  private readonly armed = new Set<string>();
  private registered = false;
  /** A recipient correction is being carried out (its validator refuses another one meanwhile). */
  private correcting = false;
  private readonly outbox: WebhookOutbox;

  constructor(
    private readonly input: OrderInput,
    private readonly carried?: OrderState,
  ) {
    this.orderId = input.orderId;
    this.step = { orderId: input.orderId, firstRunId: wf.workflowInfo().firstExecutionRunId };
    this.state = carried ?? rules.newState(input.policy, Date.now());
    // A run carried over from an older version starts the newer bookkeeping fresh.
    this.state.webhooks ??= rules.newWebhookState();
    this.state.recipientRefused ??= null;
    this.outbox = new WebhookOutbox(this.state.webhooks, input, this.step.firstRunId);
  }

  /** Handlers first, so that no signal, query or update that arrives with the first task is lost. */
  setup(): void {
    const { state } = this;
    wf.setHandler(statusQuery, () => rules.view(this.orderId, state));
    wf.setHandler(checkNowSignal, () => this.pollScope?.cancel());
    wf.setHandler(cancelSignal, (arg) => this.requestStop(arg?.reason ?? 'cancelled by operator'));
    wf.setHandler(retrievedSignal, ({ deliveryId }) => this.retrieved(deliveryId));
    wf.setHandler(extendRetentionSignal, ({ by, requestedBy }) => this.extendRetention(by, requestedBy));
    wf.setHandler(purgeNowSignal, () => {
      // While the provider is still filling the order, purging it means ending it: nothing may follow.
      if (state.phase === 'collecting') this.requestStop('purge requested by an operator');
      else this.purgeRequested = true;
    });
    // The validator decides from the order's state alone, before anything is revoked or sent; it is not
    // part of the history (a rejected update leaves none), so its rules change without a patch.
    wf.setHandler(resendLinkUpdate, (request) => this.resend(request), {
      validator: (request) => {
        if (state.stored === 0) throw new Error('this order has no stored cards to send');
        if (state.phase === 'purged' || state.phase === 'cancelled')
          throw new Error(`order is ${state.phase}`);
        // Never echo the value: it is an address, or meant to be one.
        if (request?.recipient !== undefined && !rules.isRecipient(request.recipient))
          throw new Error('recipient: not an email address');
        // A new recipient only for an order whose link email the mail server refused (DESIGN 3.13): a
        // caller's secret, or an operator, cannot re-route an order that reached its customer.
        if (request?.recipient !== undefined && !state.recipientRefused)
          throw wf.ApplicationFailure.nonRetryable(
            "the order's recipient was not refused: only a refused recipient can be corrected",
            ResendRefusal.recipientNotRefused,
          );
        // One correction at a time: a second one while the first is still being sent is refused, not queued.
        if (request?.recipient !== undefined && this.correcting)
          throw wf.ApplicationFailure.nonRetryable(
            'a correction of this order is already under way',
            ResendRefusal.correctionUnderWay,
          );
        // A resend to the same address re-delivers revealed cards: an operator's decision, never a caller's.
        if (request?.recipient === undefined && isCallerRequest(request))
          throw wf.ApplicationFailure.nonRetryable(
            'a caller may only correct a refused recipient',
            ResendRefusal.callerMayOnlyCorrect,
          );
      },
    });
  }

  // ================================================================ the order's story
  async run(): Promise<OrderStatusView> {
    publishStatus(this.state);
    for (const d of rules.standingDeliveries(this.state)) this.expireOnTime(d);
    // The order is registered by its first poll (one step fewer); a continued run was registered before.
    this.registered = this.carried !== undefined;
    if (!this.carried) this.emit('order.accepted', {});
    // The caller hears of the order beside the story, never holding it up (DESIGN 7).
    if (this.input.caller)
      void wf.CancellationScope.nonCancellable(() => this.outbox.send(() => this.registered));

    // 1. Collect: poll the provider until it is done or the deadline passes. Each poll stores new cards
    //    encrypted and returns only when something changed, so history grows with progress, not time.
    let end: Conclusion | null = null;
    while (end === null && !this.stopRequest) {
      await this.continueAsNewIfLong();
      if (this.stopRequest) break;
      const poll = await this.poll();
      this.state.polls++;
      if (poll.kind === 'interrupted') continue; // checkNow, or a stop to look at
      end = this.conclusionOf(poll);
      if (end === null && this.input.policy.deliverPartial && rules.hasUndelivered(this.state))
        await this.deliver('batch');
    }

    // 2. Deliver: the stored cards no link covers yet, the outcome, a notice when the order fell short.
    if (end !== null) await this.conclude(end, { deliverStored: true });

    // The operator's stop (cancel, purgeNow while collecting, the UI's cancel button): no further link,
    // the live ones revoked, the cards purged. It runs to the end even when the workflow was cancelled.
    if (this.stopRequest) {
      const { reason } = this.stopRequest;
      await wf.CancellationScope.nonCancellable(async () => {
        await this.revokeLinks('cancelled');
        if (this.state.outcome === null) {
          const end: Conclusion = { outcomeWithoutCards: 'CANCELLED', reason, notice: 'cancelled' };
          await this.conclude(end, { deliverStored: false });
        }
        await this.purge('cancelled');
      });
      return this.finish();
    }

    // 3. Aftercare: links expire on their own timers; the cards wait for retention, for every link to be
    //    used (purgeOnRetrieval), or for an operator.
    const reason = await this.aftercare();
    await wf.CancellationScope.nonCancellable(async () => {
      if (reason === 'cancelled') await this.revokeLinks('cancelled');
      await this.purge(reason);
    });
    return this.finish();
  }

  // ================================================================ the steps

  /** One collect activity, retried by Temporal with the order's backoff until something changed. */
  private async poll(): Promise<Poll> {
    const { policy } = this.input;
    const remaining = this.state.deadlineAt - Date.now();
    if (remaining <= 0) return { kind: 'deadline' };
    // The completing link rides with the poll only when the poll could still send it before the deadline.
    const link = linkForPoll(this.state, this.input, remaining, this.stopRequest !== null);
    const { collect } = wf.proxyActivities<OrderActivities>({
      taskQueue: providerTaskQueue(wf.workflowInfo().taskQueue),
      startToCloseTimeout: MAIL_STEP_TIMEOUT,
      heartbeatTimeout: '5 seconds',
      scheduleToCloseTimeout: remaining,
      retry: {
        initialInterval: policy.pollInitialInterval,
        maximumInterval: policy.pollMaxInterval,
        backoffCoefficient: 2,
        nonRetryableErrorTypes: NON_RETRYABLE_PROVIDER_FAILURES,
      },
      // As for the deliver step: a stop waits for a link in flight, so its revocation covers what it minted.
      ...(link ? { cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
    });
    const scope = new wf.CancellationScope();
    this.pollScope = scope;
    try {
      const result = await scope.run(() =>
        collect({
          ...this.step,
          ...(this.registered ? {} : { register: registration(this.input, this.step) }),
          knownStored: this.state.stored,
          knownStatus: this.state.providerStatus,
          pollInitialMs: msToNumber(policy.pollInitialInterval as Duration),
          pollMaxMs: msToNumber(policy.pollMaxInterval as Duration),
          ...(link ? { deliverWhenComplete: link } : {}),
        }),
      );
      this.registered = true;
      return { kind: 'progress', result };
    } catch (err) {
      const failure = failureOf(err);
      // A failure the activity raised itself means an attempt ran, and registered the order.
      if (failure.raised) this.registered = true;
      return this.pollFailure(err, failure, scope);
    } finally {
      this.pollScope = undefined;
    }
  }

  private pollFailure(err: unknown, failure: StepFailure, scope: wf.CancellationScope): Poll {
    if (isOwnershipRefusal(failure)) throw err; // not this workflow's order: it ends here
    if (failure.timedOut) return { kind: 'deadline' };
    const { raised } = failure;
    const retryable = raised !== null && !NON_RETRYABLE_PROVIDER_FAILURES.includes(raised.type);
    // Interrupted (checkNow, a stop): the poll was cancelled, or the attempt in flight when it came failed
    // (the server does not retry an attempt whose cancellation was asked for).
    if (failure.cancelled || (retryable && scope.consideredCancelled)) {
      // The whole workflow was cancelled (the UI's button, `temporal workflow cancel`): end the order the
      // way the cancel signal does, instead of polling again in a cancelled scope.
      if (wf.CancellationScope.current().consideredCancelled)
        this.requestStop('workflow cancellation requested');
      return { kind: 'interrupted' };
    }
    if (raised === null) throw err;
    // A retryable failure only ends the activity when its next retry would pass the deadline.
    if (retryable) return { kind: 'deadline' };
    return { kind: 'provider-error', type: raised.type, message: raised.message };
  }

  /** Stopped, or out of time, before any poll registered the order: its row must exist from here on. */
  private async ensureRegistered(): Promise<void> {
    if (this.registered) return;
    await steps.registerOrder(registration(this.input, this.step));
    this.registered = true;
  }

  /** Whether this poll ends the collecting, and how; progress short of a final status does not. */
  private conclusionOf(poll: Exclude<Poll, { kind: 'interrupted' }>): Conclusion | null {
    const { state } = this;
    if (poll.kind === 'deadline') {
      const reason = state.stored > 0 ? null : 'deadline passed with no card fulfilled';
      return { outcomeWithoutCards: 'FAILED', reason, notice: 'deadline' };
    }
    if (poll.kind === 'provider-error') {
      return { outcomeWithoutCards: 'FAILED', reason: `${poll.type}: ${poll.message}`, notice: 'failed' };
    }
    const { result } = poll;
    rules.recordCollect(state, result);
    if (!isFinalProviderStatus(result.status)) {
      publishStatus(this.state);
      return null;
    }
    // A final status: conclude() publishes next, in this same workflow task (one upsert, not two).
    if (result.status === 'FULFILLED') {
      const short = state.stored < result.quantity;
      return {
        outcomeWithoutCards: 'FAILED',
        reason: short ? `the provider fulfilled ${state.stored} of ${result.quantity} cards` : null,
        notice: short ? 'failed' : null,
        ...(result.delivery ? { sentWithPoll: result.delivery } : {}),
      };
    }
    // FAILED or CANCELLED: cards the provider issued before it gave up were paid for, the customer gets them.
    return {
      outcomeWithoutCards: result.status === 'FAILED' ? 'FAILED' : 'CANCELLED',
      reason: `the provider reported the order as ${result.status}`,
      notice: result.status === 'FAILED' ? 'failed' : 'cancelled',
    };
  }

  /** Ends the collecting: delivers what no link covers yet, sets the outcome, tells the customer, records it. */
  private async conclude(end: Conclusion, opts: { deliverStored: boolean }): Promise<void> {
    const { state } = this;
    await this.ensureRegistered();
    state.phase = 'delivering';
    // With the link already sent, the status moves on within this task: one upsert, not two.
    if (!end.sentWithPoll) publishStatus(this.state);
    let finished = false;
    if (end.sentWithPoll) {
      finished = this.takeSentWithPoll(end.sentWithPoll).finished === true;
    } else if (opts.deliverStored && rules.hasUndelivered(state)) {
      // The usual end (every card, no notice): the link that completes the order records it too.
      const finish = finishWithLink(state, this.step, end.notice);
      finished = (await this.deliver('batch', {}, finish)).finished === true;
    }
    // Stopped while the link email was in flight: the stop concludes the order (as cancelled), not this.
    if (this.stopRequest && opts.deliverStored && rules.hasUndelivered(state)) return;
    state.outcome = rules.outcomeOf(state, end.outcomeWithoutCards);
    state.failureReason =
      end.reason ?? (state.recipientRefused ? `the link email was refused: ${state.recipientRefused}` : null);
    if (end.notice && (state.delivered === 0 || state.outcome !== 'DELIVERED')) {
      await mail.notifyCustomer({
        ...this.step,
        recipient: this.input.recipient,
        ...(this.input.locale ? { locale: this.input.locale } : {}),
        kind: end.notice,
        deliveredCards: state.delivered,
        quantity: state.quantity,
      });
    }
    if (!finished || state.outcome !== 'DELIVERED') {
      await steps.finishOrder({
        ...this.step,
        outcome: state.outcome,
        providerStatus: state.providerStatus,
        failureReason: state.failureReason,
        deliveredCards: state.delivered,
      });
    }
    state.phase = rules.concludedPhase(state);
    publishStatus(this.state);
    this.emit(rules.outcomeEvent(state.outcome), {
      outcome: state.outcome,
      deliveredCards: state.delivered,
      quantity: state.quantity,
      reason: state.failureReason,
    });
  }

  /**
   * Sends a link. A link email the mail server refuses for good ends that delivery (recipientRefused, and
   * the order's status says so) without ending the order: a corrected resend can still reach the customer.
   */
  private async deliver(
    kind: DeliveryKind,
    request: ResendRequest = {},
    finish?: DeliverInput['finish'],
    correction?: { recipient: string; unrevealedOnly: true },
  ): Promise<DeliverResult> {
    const deliveryId = rules.nextDeliveryId(this.state, this.orderId);
    let result: DeliverResult;
    this.deliverScope = new wf.CancellationScope();
    try {
      result = await this.deliverScope.run(() =>
        mail.deliver({
          ...this.step,
          ...rules.linkFields(this.state, this.input, deliveryId),
          ...(correction ?? {}),
          kind,
          ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
          ...(request.recipient ? { recipientChanged: true } : {}),
          ...(finish ? { finish } : {}),
        }),
      );
    } catch (err) {
      const failure = failureOf(err);
      const refusal = failure.raised?.type === RECIPIENT_REFUSED ? failure.raised : null;
      // Interrupted by the operator's stop (not by a cancellation of the whole workflow). An attempt in
      // flight when the stop came fails rather than being cancelled (the server does not retry it): either
      // way the stop's revocation covers whatever it minted.
      const interrupted =
        failure.cancelled || (failure.ofActivity && !refusal && !isOwnershipRefusal(failure));
      if (interrupted && this.stopRequest && !wf.CancellationScope.current().consideredCancelled)
        return notSent(deliveryId);
      if (!refusal) throw err;
      return this.linkRefused(deliveryId, refusal.message);
    } finally {
      this.deliverScope = undefined;
    }
    return this.linkSent(kind, result);
  }

  /** The completing link the concluding poll sent or had refused, taken as the deliver step's would be. */
  private takeSentWithPoll(sent: NonNullable<CollectResult['delivery']>): DeliverResult {
    const deliveryId = rules.nextDeliveryId(this.state, this.orderId);
    return 'refused' in sent ? this.linkRefused(deliveryId, sent.refused) : this.linkSent('batch', sent);
  }

  private linkSent(kind: DeliveryKind, result: DeliverResult): DeliverResult {
    this.state.recipientRefused = null;
    const record = rules.recordDelivery(this.state, kind, result, Date.now());
    if (record) {
      this.expireOnTime(record);
      const { deliveryId, cardCount } = result;
      this.emit('link.sent', {
        deliveryId,
        cardCount,
        kind,
        expiresAt: new Date(result.expiresAt).toISOString(),
      });
      if (rules.takeEarlyRetrieval(this.state, deliveryId)) this.retrieved(deliveryId);
    }
    return result;
  }

  /** The customer revealed or downloaded a link (the delivery API's signal). */
  private retrieved(deliveryId: string): void {
    if (rules.markRetrieved(this.state, deliveryId)) {
      this.emit('link.retrieved', { deliveryId });
      return;
    }
    // Before the patch such a signal was lost, and purgeOnRetrieval waited for the retention instead.
    if (
      rules.mayBeInFlight(this.state, this.orderId, deliveryId) &&
      wf.patched(PATCHES.retrievedBeforeRecorded)
    )
      rules.rememberEarlyRetrieval(this.state, deliveryId);
  }

  private linkRefused(deliveryId: string, reason: string): DeliverResult {
    this.state.recipientRefused = reason;
    return notSent(deliveryId);
  }

  private async resend(request: ResendRequest = {}): Promise<DeliverResult> {
    if (request.recipient && wf.patched(PATCHES.recipientCorrection)) {
      this.correcting = true;
      try {
        return await this.correct(request.recipient, request);
      } finally {
        this.correcting = false;
      }
    }
    if (request.recipient) this.state.recipientOverride = request.recipient;
    await this.revokeLinks('resend');
    rules.supersedeDeliveries(this.state);
    const result = await this.deliver('resend', request);
    // The caller learns that this one was refused too (and why), not a link that went nowhere.
    if (this.state.recipientRefused)
      throw wf.ApplicationFailure.nonRetryable(this.state.recipientRefused, RECIPIENT_REFUSED);
    return result;
  }

  /**
   * A recipient correction (the validator let it through: the order's recipient was refused): the live
   * links revoked, a new one to the new address for the cards no link revealed, and the previous address
   * told, without a link. The new address becomes the order's only once its link went out.
   */
  private async correct(recipient: string, request: ResendRequest): Promise<DeliverResult> {
    const { state } = this;
    const previous = state.recipientOverride ?? this.input.recipient;
    const refusedBefore = state.recipientRefused;
    await this.revokeLinks('resend');
    rules.supersedeDeliveries(state);
    const result = await this.deliver('resend', request, undefined, { recipient, unrevealedOnly: true });
    if (state.recipientRefused)
      throw wf.ApplicationFailure.nonRetryable(state.recipientRefused, RECIPIENT_REFUSED);
    // Interrupted by an operator's stop: nothing was sent, and the order is ending anyway.
    if (result.cardCount === 0 && this.stopRequest) return result;
    if (result.cardCount === 0) {
      // Nothing was sent: the order's recipient is still the refused one, and the caller is told why.
      state.recipientRefused = refusedBefore;
      throw wf.ApplicationFailure.nonRetryable(
        'every card of the order was already revealed by a link: a correction sends nothing',
        ResendRefusal.nothingUnrevealed,
      );
    }
    state.recipientOverride = recipient;
    await mail.notifyCustomer({
      ...this.step,
      recipient: previous,
      kind: 'recipient-changed',
      deliveryId: result.deliveryId,
      deliveredCards: state.delivered,
      quantity: state.quantity,
    });
    return result;
  }

  private async revokeLinks(reason: 'resend' | 'cancelled'): Promise<void> {
    const count = await steps.revokeLinks({ ...this.step, reason });
    if (count > 0) this.emit('link.revoked', { reason, count });
  }

  /** Arms a delivery's expiry timer once per run (deliveries carried over by continue-as-new re-arm). */
  private expireOnTime(record: DeliveryRecord): void {
    if (this.armed.has(record.id)) return;
    this.armed.add(record.id);
    void (async () => {
      await wf.sleep(Math.max(1, record.expiresAt - Date.now()));
      if (record.expired || record.superseded || this.state.phase === 'purged') return;
      const count = await steps.expireDelivery({ ...this.step, deliveryId: record.id });
      record.expired = true;
      if (count > 0) this.emit('link.expired', { deliveryId: record.id });
    })();
  }

  /** Waits for the purge: retention, retrieval (with purgeOnRetrieval), an operator's purge or cancel. */
  private async aftercare(): Promise<PurgeReason> {
    const { state, input } = this;
    rules.settlePurgeTime(state, input.policy, Date.now());
    for (;;) {
      this.retentionChanged = false;
      const retrievedAll = () => input.policy.purgeOnRetrieval && rules.allRetrieved(state);
      let woken: boolean;
      try {
        woken = await wf.condition(
          () => this.stopRequest !== null || this.purgeRequested || this.retentionChanged || retrievedAll(),
          Math.max(1, (state.purgeAt as number) - Date.now()),
        );
      } catch (err) {
        if (!wf.isCancellation(err)) throw err;
        this.requestStop('workflow cancellation requested');
        woken = true;
      }
      if (!woken) return 'retention';
      if (this.stopRequest) return 'cancelled';
      if (this.purgeRequested) return 'operator';
      if (retrievedAll()) return 'retrieved';
      // The retention was extended: wait for the new purge time.
    }
  }

  private async purge(reason: PurgeReason): Promise<void> {
    await wf.condition(wf.allHandlersFinished);
    await steps.purgeOrder({ ...this.step, reason });
    this.state.phase = 'purged';
    publishStatus(this.state);
    this.emit('order.purged', { reason });
  }

  /** The order is over once its caller has every event (or they were given up on after their maximum age). */
  private async finish(): Promise<OrderStatusView> {
    await wf.CancellationScope.nonCancellable(() => wf.condition(() => this.outbox.empty));
    return rules.view(this.orderId, this.state);
  }

  private emit(type: WebhookEventType, data: WebhookEventData): void {
    this.outbox.emit(type, data);
  }

  private async extendRetention(by: string, requestedBy?: string): Promise<void> {
    const byMs = rules.positiveDuration(by);
    if (byMs === null) {
      // A bad value from the UI or CLI must not wedge the order: ignore it, say so.
      wf.log.warn('extendRetention ignored: not a positive duration', { by: String(by).slice(0, 32) });
      return;
    }
    rules.extendRetention(this.state, byMs);
    this.retentionChanged = true;
    await steps.recordRetention({
      ...this.step,
      purgeAt: this.state.purgeAt,
      byMs,
      by,
      ...(typeof requestedBy === 'string' ? { requestedBy } : {}),
    });
  }

  private requestStop(reason: string): void {
    this.stopRequest ??= { reason };
    this.pollScope?.cancel();
    this.deliverScope?.cancel();
  }

  /** Continues as new when history grows long, unless a stop arrived that the next run would never see. */
  private async continueAsNewIfLong(): Promise<void> {
    const info = wf.workflowInfo();
    if (!info.continueAsNewSuggested && info.historyLength <= HISTORY_LIMIT) return;
    await wf.condition(wf.allHandlersFinished);
    if (this.stopRequest) return;
    await wf.continueAsNew<typeof giftCardOrder>(this.input, this.state);
  }
}

function notSent(deliveryId: string): DeliverResult {
  return { deliveryId, cardCount: 0, expiresAt: Date.now() };
}
