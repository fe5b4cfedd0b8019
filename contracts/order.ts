/**
 * The order's contract: the one place that says what an order is to every part of the system. The
 * workflow, its activities, the worker, the API, the CLIs and the tests all import it, and it imports
 * nothing of theirs, so it is free of I/O and safe inside the workflow sandbox.
 *
 * Nothing here ever carries a card value, serial or delivery token; the recipient email travels only in
 * the workflow input and the deliver/notify inputs, which the payload codec encrypts.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

// ---------------------------------------------------------------- the provider's view of the order

export const PROVIDER_STATUSES = [
  'PENDING',
  'PROCESSING',
  'PARTIALLY_FILLED',
  'FULFILLED',
  'FAILED',
  'CANCELLED',
] as const;
export type ProviderStatus = (typeof PROVIDER_STATUSES)[number];

/** Statuses after which the provider's answer no longer changes. */
export const FINAL_PROVIDER_STATUSES: readonly ProviderStatus[] = ['FULFILLED', 'FAILED', 'CANCELLED'];

export function isFinalProviderStatus(status: ProviderStatus): boolean {
  return FINAL_PROVIDER_STATUSES.includes(status);
}

/** Failure types the collect activity raises; the first three end the order. */
export const ProviderFailureType = {
  notFound: 'ProviderOrderNotFound',
  auth: 'ProviderAuthRejected',
  contract: 'ProviderContractViolation',
  unavailable: 'ProviderUnavailable',
  rateLimited: 'ProviderRateLimited',
  notReady: 'OrderNotReady',
} as const;

/** The link email was refused for good (a 5xx answer): the delivery failed, a corrected resend may not. */
export const RECIPIENT_REFUSED = 'RecipientRefused';

/**
 * Why the order refused a resendLink request (DESIGN 3.13), the failure type the update fails with: a new
 * recipient while the order's last link email was not refused; a caller asking for anything but a
 * correction (a re-delivery of revealed cards is an operator's decision); a correction with every card
 * already revealed by a link (nothing it may send); a correction while another one is still under way.
 * Nothing was revoked or sent but for the third.
 */
export const ResendRefusal = {
  recipientNotRefused: 'RecipientNotRefused',
  callerMayOnlyCorrect: 'CallerMayOnlyCorrect',
  nothingUnrevealed: 'NothingUnrevealed',
  correctionUnderWay: 'CorrectionUnderWay',
} as const;
export type ResendRefusalType = (typeof ResendRefusal)[keyof typeof ResendRefusal];

/**
 * An activity was asked to act on an order by a workflow that is not the one registered for it (DESIGN
 * 3.10): nothing was changed or sent, and the attempt is audited. Never retried; the workflow ends.
 */
export const ORDER_OWNERSHIP_REFUSED = 'OrderOwnershipRefused';

export const NON_RETRYABLE_PROVIDER_FAILURES: string[] = [
  ProviderFailureType.notFound,
  ProviderFailureType.auth,
  ProviderFailureType.contract,
];

// ---------------------------------------------------------------- the workflow: input, state, view

export const ORDER_WORKFLOW_TYPE = 'giftCardOrder';

export function workflowIdFor(orderId: string): string {
  return `giftcard-order-${orderId}`;
}

/**
 * The task queue of the provider's calls (the collect step), beside the order's own: workers poll it with
 * the provider's rate limit, which the Temporal server enforces across all of them.
 */
export function providerTaskQueue(orderTaskQueue: string): string {
  return `${orderTaskQueue}-provider`;
}

export interface OrderPolicy {
  /** Send a link for each batch of newly stored cards as it arrives, instead of one at FULFILLED. */
  deliverPartial: boolean;
  /** Purge the cards once every live link was revealed or downloaded. */
  purgeOnRetrieval: boolean;
  /** Durations in Temporal notation ("24h", "30d"). */
  linkTtl: string;
  retention: string;
  deadline: string;
  pollInitialInterval: string;
  pollMaxInterval: string;
  /** How long a webhook event is retried before it is marked undeliverable. */
  webhookMaxAge: string;
}

export interface OrderInput {
  orderId: string;
  userId: string;
  /** PII: only ever inside codec-encrypted payloads. */
  recipient: string;
  policy: OrderPolicy;
  /** The intake caller that started the order; it alone hears of it (webhooks). None from the CLI. */
  caller?: string;
  /**
   * The customer's language for the link pages and emails (a BCP 47 tag whose language has messages,
   * validated at intake and in the CLI). None: the browser's Accept-Language, else the business default.
   */
  locale?: string;
}

export type OrderPhase = 'collecting' | 'delivering' | 'delivered' | 'purged' | 'failed' | 'cancelled';

export type OrderOutcome = 'DELIVERED' | 'PARTIALLY_DELIVERED' | 'FAILED' | 'CANCELLED';

export interface DeliveryRecord {
  id: string;
  cardCount: number;
  /** Epoch ms. */
  expiresAt: number;
  expired: boolean;
  /** Replaced by a resend: its link was revoked. */
  superseded: boolean;
  /** The customer revealed or downloaded it. */
  retrieved: boolean;
}

/** Everything the workflow remembers, carried across continue-as-new. */
export interface OrderState {
  phase: OrderPhase;
  providerStatus: ProviderStatus | null;
  quantity: number | null;
  stored: number;
  delivered: number;
  deliveries: DeliveryRecord[];
  nextDeliverySeq: number;
  /** Epoch ms (workflow time). */
  startedAt: number;
  deadlineAt: number;
  deliveredAt: number | null;
  /** Epoch ms at which the cards are purged; extended by the extendRetention signal. */
  purgeAt: number | null;
  /** Added by extendRetention signals. */
  retentionExtraMs: number;
  outcome: OrderOutcome | null;
  failureReason: string | null;
  polls: number;
  webhooks: WebhookState;
  /** Why the last link email was refused for good (SMTP code, never the address); null once one went out. */
  recipientRefused: string | null;
  /** PII: a recipient corrected by a resend, carried across continue-as-new; never in the status view. */
  recipientOverride?: string;
  /**
   * Links the customer used before the step that sent them reported back (the API's retrieved signal can
   * outrun the step's completion): each counts as retrieved once the workflow records it.
   */
  retrievedEarly?: string[];
}

/** The order's events for its caller: sent one at a time, in sequence, by a loop beside the story. */
export interface WebhookState {
  nextSequence: number;
  /** Emitted and not yet acknowledged, oldest first; the head is the one being sent. */
  outbox: WebhookEvent[];
  delivered: number;
  /** Events given up on after the order's webhookMaxAge. */
  undeliverable: string[];
  /** Why sending stopped for this order: the endpoint answered 410, or the caller has none. */
  stopped: 'gone' | 'no-endpoint' | null;
}

/** What the `status` query returns: no secret, no PII. */
export interface OrderStatusView {
  orderId: string;
  phase: OrderPhase;
  providerStatus: ProviderStatus | null;
  quantity: number | null;
  storedCards: number;
  deliveredCards: number;
  deliveries: Array<{
    id: string;
    cardCount: number;
    expiresAt: string;
    expired: boolean;
    superseded: boolean;
    retrieved: boolean;
  }>;
  deadlineAt: string;
  purgeAt: string | null;
  outcome: OrderOutcome | null;
  failureReason: string | null;
  recipientRefused: string | null;
  webhooks: {
    lastSequence: number;
    pending: number;
    delivered: number;
    undeliverable: string[];
    stopped: WebhookState['stopped'];
  };
}

/** The workflow's signature, for clients that start it by type name (they never import its code). */
export type OrderWorkflow = (input: OrderInput, carried?: OrderState) => Promise<OrderStatusView>;

// ---------------------------------------------------------------- events for the upstream caller (DESIGN 7)

export const WEBHOOK_EVENT_TYPES = [
  'order.accepted',
  'order.delivered',
  'order.partially_delivered',
  'order.failed',
  'order.cancelled',
  'link.sent',
  'link.retrieved',
  'link.expired',
  'link.revoked',
  'order.purged',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * One event as the caller's endpoint receives it (the JSON body). Ids, counts and reasons only: never a
 * card, a token, a link or an email address. `id` is stable across retries and replays; `sequence`
 * counts up per order from 1. The JSON schema is `contracts/webhook-event.schema.json`.
 */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  orderId: string;
  sequence: number;
  /** ISO 8601, when it happened (workflow time). */
  occurredAt: string;
  data: WebhookEventData;
}

export interface WebhookEventData {
  deliveryId?: string;
  cardCount?: number;
  deliveredCards?: number;
  quantity?: number | null;
  /** ISO 8601. */
  expiresAt?: string;
  kind?: DeliveryKind;
  outcome?: OrderOutcome;
  reason?: string | null;
  count?: number;
}

/** `not-subscribed`: the caller does not receive events of this type (nothing was sent). */
export type WebhookSendOutcome = 'delivered' | 'gone' | 'no-endpoint' | 'not-subscribed';

// ---------------------------------------------------------------- what operators and other systems send

export const statusQuery = defineQuery<OrderStatusView>('status');
/** Poll the provider now instead of waiting out the backoff. */
export const checkNowSignal = defineSignal('checkNow');
/**
 * Stop the order: no further link, the live ones revoked, the cards purged, the customer told.
 * `requestedBy`: the verified operator who asked ("operator:<username>", the ops API); for the record.
 */
export const cancelSignal = defineSignal<[{ reason?: string; requestedBy?: string }?]>('cancel');
/** The delivery API saw a link revealed or downloaded. */
export const retrievedSignal = defineSignal<[{ deliveryId: string }]>('retrieved');
/** `requestedBy`: who asked, for the audit row ("operator:<username>", verified by the ops API); "operator" without it. */
export const extendRetentionSignal = defineSignal<[{ by: string; requestedBy?: string }]>('extendRetention');
export const purgeNowSignal = defineSignal<[{ requestedBy?: string }?]>('purgeNow');
/**
 * Revoke the live link and send a new one, to a corrected recipient when given (PII: the update's
 * arguments travel codec-encrypted); refused (validator) when there is nothing to send, the address is
 * not one, a new recipient is asked for while the order's recipient was not refused, or a caller asks for
 * anything but such a correction (ResendRefusal). A correction covers only the cards no link has revealed
 * (NothingUnrevealed when there are none) and tells the previous address, without a link. Fails with
 * RecipientRefused when the mail server refuses the new email for good.
 */
export const resendLinkUpdate = defineUpdate<DeliverResult, [ResendRequest]>('resendLink');

export interface ResendRequest {
  recipient?: string;
  /** Who asked, for the audit row: "operator", "operator:<name>", "caller:<name>". */
  requestedBy?: string;
}

/** A request from an intake caller (the recipient route): it may only correct a refused recipient. */
export function isCallerRequest(request: ResendRequest | undefined): boolean {
  return typeof request?.requestedBy === 'string' && request.requestedBy.startsWith('caller:');
}

// ---------------------------------------------------------------- search attributes
// The server indexes them in plaintext (the codec never sees them), so they hold phases and counts only:
// no email, no user id, no card data (DESIGN 3.6). scripts/stack.sh registers them on the dev server and
// test/helpers/time-skipping.ts on the test server; a cluster needs `temporal operator search-attribute create`.

/** The order's phase: collecting, delivering, delivered, failed, cancelled, purged. */
export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
/** DELIVERED, PARTIALLY_DELIVERED, FAILED or CANCELLED, once the order concluded. */
export const OrderOutcomeKey = defineSearchAttributeKey('OrderOutcome', SearchAttributeType.KEYWORD);
/** Cards stored for the order so far (a count survives the purge; the cards do not). */
export const CardCountKey = defineSearchAttributeKey('CardCount', SearchAttributeType.INT);

export const ORDER_SEARCH_ATTRIBUTES = [OrderStatusKey, OrderOutcomeKey, CardCountKey];

/** A new order's, set with its start (startOrder) so that its first workflow task has nothing to upsert. */
export const STARTING_SEARCH_ATTRIBUTES = [
  { key: OrderStatusKey, value: 'collecting' },
  { key: CardCountKey, value: 0 },
];

// ---------------------------------------------------------------- the activities

/**
 * What every order activity's input carries (DESIGN 3.10): the order, and the first run of the asking
 * workflow's chain (`workflowInfo().firstExecutionRunId`, assigned by the Temporal server and kept across
 * continue-as-new and reset). The activity reads the asking workflow's id from its own Temporal context and
 * compares both with what the order's registration recorded; a workflow's input cannot set either.
 */
export interface OrderStepInput {
  orderId: string;
  firstRunId: string;
}

/** The registration records the asking workflow's id (from the activity's context) with firstRunId. */
export interface RegisterOrderInput extends OrderStepInput {
  userId: string;
  policy: OrderPolicy;
  caller: string | null;
}

export interface CollectInput extends OrderStepInput {
  /** On the order's first poll: register it in the same step (idempotent), which saves a round trip. */
  register?: RegisterOrderInput;
  /** What the workflow already knows: the activity returns only when the provider moved past this. */
  knownStored: number;
  knownStatus: ProviderStatus | null;
  pollInitialMs: number;
  pollMaxMs: number;
  /**
   * The link to send in this same step when the poll finds the order complete (FULFILLED, every card
   * stored): the usual end of an order costs one step and one workflow task fewer. Left out when the step
   * could not finish it before the order's deadline; the workflow's deliver step sends it then.
   */
  deliverWhenComplete?: CompletingDelivery;
}

/** What deliver would be given for the link that completes the order, and the cards already linked. */
export type CompletingDelivery = Pick<
  DeliverInput,
  'deliveryId' | 'recipient' | 'linkTtlMs' | 'retentionMs' | 'locale'
> & {
  deliveredCards: number;
};

/**
 * The outcome the link that completes an order records with it: DELIVERED, all `stored` cards, of which
 * this link carries those not `delivered` before (deliver records it only if it carries exactly those).
 */
export function completingFinish(
  step: OrderStepInput,
  stored: number,
  delivered: number,
): NonNullable<DeliverInput['finish']> {
  const { orderId, firstRunId } = step;
  return {
    orderId,
    firstRunId,
    outcome: 'DELIVERED',
    providerStatus: 'FULFILLED',
    failureReason: null,
    deliveredCards: stored,
    expectCards: stored - delivered,
  };
}

/** The deliver input of the completing link a poll was given, once the order has `stored` cards. */
export function completingDeliverInput(
  step: OrderStepInput,
  link: CompletingDelivery,
  stored: number,
): DeliverInput {
  const { deliveredCards, ...fields } = link;
  return {
    orderId: step.orderId,
    firstRunId: step.firstRunId,
    ...fields,
    kind: 'batch',
    finish: completingFinish(step, stored, deliveredCards),
  };
}

export interface CollectResult {
  status: ProviderStatus;
  quantity: number;
  /** Cards of this order now stored (ciphertext) in the database. */
  stored: number;
  /** Cards stored since the workflow's last known count. */
  newlyStored: number;
  /**
   * What became of deliverWhenComplete's link: sent (with the order's outcome when `finished`), or refused
   * for good by the mail server (the reason, never the address). Absent: not tried, or it failed in a way
   * worth retrying, which the workflow's deliver step does with the same delivery id.
   */
  delivery?: DeliverResult | { refused: string };
}

export type DeliveryKind = 'batch' | 'resend';

export interface DeliverInput extends OrderStepInput {
  deliveryId: string;
  recipient: string;
  /** The order's locale (OrderInput.locale): the email's language, and the link's `?lang=`. */
  locale?: string;
  /**
   * batch: the order's cards not yet in any delivery; resend: all the order's stored cards, or with
   * `unrevealedOnly` (a recipient correction) those no link has revealed or downloaded.
   */
  kind: DeliveryKind;
  unrevealedOnly?: boolean;
  linkTtlMs: number;
  retentionMs: number;
  /** For the audit row of a resend: who asked, and whether the recipient was corrected. */
  requestedBy?: string;
  recipientChanged?: boolean;
  /**
   * The order's outcome, recorded in the delivery's last transaction when this link is the one that
   * completes the order with `expectCards` cards (saves the order its finishOrder step).
   */
  finish?: FinishInput & { expectCards: number };
}

export interface DeliverResult {
  deliveryId: string;
  cardCount: number;
  /** Epoch ms. */
  expiresAt: number;
  /** The input's `finish` was recorded with it. */
  finished?: boolean;
}

/** recipient-changed: to the previous address after a correction, without a link, code or new address. */
export type NoticeKind = 'failed' | 'cancelled' | 'deadline' | 'recipient-changed';

export interface NotifyInput extends OrderStepInput {
  recipient: string;
  /** The order's locale (OrderInput.locale): the notice's language. */
  locale?: string;
  kind: NoticeKind;
  /** The delivery the notice is about: one notice per delivery then, not one per order and kind. */
  deliveryId?: string;
  deliveredCards: number;
  quantity: number | null;
}

export interface FinishInput extends OrderStepInput {
  outcome: OrderOutcome;
  providerStatus: ProviderStatus | null;
  failureReason: string | null;
  deliveredCards: number;
}

export type PurgeReason = 'retention' | 'retrieved' | 'cancelled' | 'operator' | 'sweep';

export interface PurgeInput extends OrderStepInput {
  reason: PurgeReason;
}

export interface PurgeResult {
  cardsDeleted: number;
  tokensDeleted: number;
  alreadyPurged: boolean;
}

export interface RecordRetentionInput extends OrderStepInput {
  /** Epoch ms of the new purge time, or null while nothing was delivered yet. */
  purgeAt: number | null;
  byMs: number;
  by: string;
  /** Who asked (the signal's `requestedBy`), for the audit row's actor. */
  requestedBy?: string;
}

/** The order is the event's (`event.orderId`). */
export interface WebhookStepInput {
  caller: string;
  event: WebhookEvent;
  firstRunId: string;
}

/** The order's activities, as the workflow calls them and the worker implements them. */
export interface OrderActivities {
  /** Registers the order on its own: only when it is stopped before its first poll did (collect registers). */
  registerOrder(input: RegisterOrderInput): Promise<void>;
  collect(input: CollectInput): Promise<CollectResult>;
  deliver(input: DeliverInput): Promise<DeliverResult>;
  notifyCustomer(input: NotifyInput): Promise<void>;
  finishOrder(input: FinishInput): Promise<void>;
  expireDelivery(input: OrderStepInput & { deliveryId: string }): Promise<number>;
  revokeLinks(input: OrderStepInput & { reason: string }): Promise<number>;
  recordRetention(input: RecordRetentionInput): Promise<void>;
  purgeOrder(input: PurgeInput): Promise<PurgeResult>;
  /** POSTs one event to the caller's endpoint; throws (retryably) on anything but 2xx and 410. */
  sendWebhook(input: WebhookStepInput): Promise<WebhookSendOutcome>;
  /** Marks an event undeliverable after its maximum age: audit row and delivery state. */
  webhookUndeliverable(input: WebhookStepInput): Promise<void>;
}
