/**
 * The order's contract: workflow input, state, query result and the activities' inputs and results.
 * Nothing here ever carries a card value, serial or delivery token; the recipient email travels only in
 * the workflow input and the deliver/notify inputs, which the payload codec encrypts.
 */

export type ProviderStatus =
  | 'PENDING'
  | 'PROCESSING'
  | 'PARTIALLY_FILLED'
  | 'FULFILLED'
  | 'FAILED'
  | 'CANCELLED';

export interface OrderPolicy {
  /** Send a link for each batch of newly stored cards as it arrives, instead of one at FULFILLED. */
  deliverPartial: boolean;
  /** Purge the cards right after the customer's first successful reveal or download. */
  purgeOnRetrieval: boolean;
  /** Durations in Temporal notation ("24h", "30d"). */
  linkTtl: string;
  retention: string;
  deadline: string;
  pollInitialInterval: string;
  pollMaxInterval: string;
}

export interface OrderInput {
  orderId: string;
  userId: string;
  /** PII: only ever inside codec-encrypted payloads. */
  recipient: string;
  policy: OrderPolicy;
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
}

// ---- activities

export interface RegisterOrderInput {
  orderId: string;
  userId: string;
  workflowId: string;
  policy: OrderPolicy;
}

export interface CollectInput {
  orderId: string;
  /** What the workflow already knows: the activity returns only when the provider moved past this. */
  knownStored: number;
  knownStatus: ProviderStatus | null;
  pollInitialMs: number;
  pollMaxMs: number;
}

export interface CollectResult {
  status: ProviderStatus;
  quantity: number;
  /** Cards of this order now stored (ciphertext) in the database. */
  stored: number;
  /** Cards stored since the workflow's last known count. */
  newlyStored: number;
}

export interface DeliverInput {
  orderId: string;
  deliveryId: string;
  recipient: string;
  /** batch: the order's cards not yet in any delivery; resend: all the order's stored cards. */
  kind: 'batch' | 'resend';
  linkTtlMs: number;
  retentionMs: number;
}

export interface DeliverResult {
  deliveryId: string;
  cardCount: number;
  /** Epoch ms. */
  expiresAt: number;
}

export type NoticeKind = 'failed' | 'cancelled' | 'deadline';

export interface NotifyInput {
  orderId: string;
  recipient: string;
  kind: NoticeKind;
  deliveredCards: number;
  quantity: number | null;
}

export interface FinishInput {
  orderId: string;
  outcome: OrderOutcome;
  providerStatus: ProviderStatus | null;
  failureReason: string | null;
  deliveredCards: number;
}

export interface PurgeInput {
  orderId: string;
  reason: 'retention' | 'retrieved' | 'cancelled' | 'operator' | 'sweep';
}

export interface PurgeResult {
  cardsDeleted: number;
  tokensDeleted: number;
  alreadyPurged: boolean;
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

export const NON_RETRYABLE_PROVIDER_FAILURES = [
  ProviderFailureType.notFound,
  ProviderFailureType.auth,
  ProviderFailureType.contract,
];

export function workflowIdFor(orderId: string): string {
  return `giftcard-order-${orderId}`;
}
