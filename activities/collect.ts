import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  type CollectInput,
  type CollectResult,
  type CompletingDelivery,
  completingDeliverInput,
  isFinalProviderStatus,
  type OrderActivities,
  ProviderFailureType,
  RECIPIENT_REFUSED,
} from '../contracts/order';
import { blindIndexInput, INDEX_KEY_VERSION } from '../domain/card-buckets';
import { cardKeyName } from '../domain/cards';
import { ProviderError, type ProviderOrder } from '../domain/provider';
import { metrics } from '../lib/metrics';
import { storeCards as storeCardRows, storedIndexes } from '../store/cards';
import type { ActivityDeps } from './deps';
import { registerOrder } from './lifecycle';
import { checkOwnership } from './ownership';

/**
 * Polls the provider once and stores the new cards: blind index (transit HMAC), one batched transit
 * encryption with the order id as context, INSERT ... ON CONFLICT DO NOTHING. Plaintext never leaves this
 * function. When nothing changed it fails retryably, so Temporal's retry backoff does the waiting. When the
 * order is complete it sends the completing link too (`deliverWhenComplete`, by the deliver step's own code).
 */
export function collectActivity(
  deps: ActivityDeps,
  deliver: OrderActivities['deliver'],
): OrderActivities['collect'] {
  return async function collect(input: CollectInput): Promise<CollectResult> {
    const { orderId } = input;
    // The order's first poll registers it (bound to this workflow); every later one checks (DESIGN 3.10).
    if (input.register) await registerOrder(deps, input.register);
    else await checkOwnership(deps, input, 'collect');
    const attempt = Context.current().info.attempt;
    let order: ProviderOrder;
    try {
      order = await deps.provider.checkOrder(orderId);
    } catch (err) {
      throw providerFailure(err, backoff(input, attempt));
    }

    const { inserted, stored } = await storeCards(deps, input, order);
    const newlyStored = stored - input.knownStored;
    if (inserted > 0) deps.log.info({ orderId, inserted, stored, status: order.status }, 'cards stored');

    if (newlyStored <= 0 && !isFinalProviderStatus(order.status)) {
      throw ApplicationFailure.create({
        type: ProviderFailureType.notReady,
        message: `order is ${order.status}, ${stored}/${order.quantity} cards stored; waiting for the provider`,
        nextRetryDelay: backoff(input, attempt),
      });
    }
    const result = { status: order.status, quantity: order.quantity, stored, newlyStored };
    const link = input.deliverWhenComplete;
    if (!link || order.status !== 'FULFILLED' || stored < order.quantity || stored <= link.deliveredCards)
      return result;
    return { ...result, delivery: await sendCompletingLink(deps, deliver, input, link, stored) };
  };
}

/**
 * The link of a complete order, sent by the poll that found it complete (ownership was checked or the
 * order registered at the poll's start), with the order's outcome. A permanent refusal is the workflow's
 * to record; any other failure leaves the link to the workflow's deliver step, which retries it under the
 * same delivery id (so a token this attempt minted is revoked before the next one is).
 */
async function sendCompletingLink(
  deps: ActivityDeps,
  deliver: OrderActivities['deliver'],
  step: CollectInput,
  link: CompletingDelivery,
  stored: number,
): Promise<CollectResult['delivery']> {
  try {
    return await deliver(completingDeliverInput(step, link, stored));
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === RECIPIENT_REFUSED) return { refused: err.message };
    // The error's name only: a mail library's message may quote the envelope.
    deps.log.warn(
      {
        orderId: step.orderId,
        deliveryId: link.deliveryId,
        error: err instanceof Error ? err.name : typeof err,
      },
      'completing link not sent with the poll; the deliver step sends it',
    );
    return undefined;
  }
}

/**
 * Stores the cards no earlier poll stored, with their CARDS_STORED row and the provider's answer on the
 * order, in one statement; how many were new, and how many the order has now.
 */
async function storeCards(
  deps: ActivityDeps,
  input: CollectInput,
  order: ProviderOrder,
): Promise<{ inserted: number; stored: number }> {
  const { orderId } = input;
  const key = cardKeyName(deps.cardKeyPrefix, new Date());
  const fresh = await unstoredCards(deps, input, order, key);
  const ciphertexts =
    fresh.length === 0
      ? []
      : await deps.transit.encryptBatch(
          key,
          fresh.flatMap((c) => [
            { plaintext: c.value, context: orderId },
            { plaintext: c.serial, context: orderId },
          ]),
        );
  const { inserted, stored } = await storeCardRows(
    deps.db,
    {
      orderId,
      key,
      status: order.status,
      quantity: order.quantity,
      cards: fresh.map((c, i) => ({
        index: c.index,
        valueCt: ciphertexts[2 * i]!,
        serialCt: ciphertexts[2 * i + 1]!,
        barcodeFormat: c.barcodeFormat,
      })),
    },
    {
      orderId,
      event: 'CARDS_STORED',
      actor: 'worker',
      method: 'activity:collect',
      detail: { key, providerStatus: order.status },
    },
  );
  metrics.cardsStored.inc(inserted);
  return { inserted, stored };
}

/**
 * The provider's cards this order has not stored, each with its blind index: a transit HMAC under the
 * bucket `key` the cards are stored in (domain/card-buckets.ts: the index dies with its bucket), whose
 * input includes the order id, so the same code never yields the same index in two orders. A card stored
 * earlier may sit in another bucket (stored last month, or moved by the retention sweep) or carry an index
 * under the shared index key (stored before indexes moved to buckets): the codes are compared under each.
 * Before any poll found a card there is nothing to compare with: a retried first poll encrypts its cards
 * again, and the INSERT keeps the ones stored first.
 */
async function unstoredCards(deps: ActivityDeps, input: CollectInput, order: ProviderOrder, key: string) {
  if (order.cards.length === 0) return [];
  const { orderId } = input;
  const inputs = order.cards.map((c) => blindIndexInput(orderId, c.value));
  const indexes = await deps.transit.hmacBatch(key, inputs, INDEX_KEY_VERSION);
  const seen = new Set<string>();
  if (input.knownStored > 0) {
    const stored = await storedIndexes(deps.db, orderId);
    const under = async (indexKey: string, version: number) =>
      indexKey === key ? indexes : deps.transit.hmacBatch(indexKey, inputs, version);
    const earlier = await Promise.all([
      ...[...stored.buckets].map((bucket) => under(bucket, INDEX_KEY_VERSION)),
      // Cards stored before indexes moved to buckets carry one under the shared index key (VAULT_INDEX_KEY).
      // Once no order stored before that can be open (its deadline), that key and this comparison can go.
      ...(stored.indexes.size > 0 && deps.indexKey !== ''
        ? [under(deps.indexKey, deps.indexKeyVersion)]
        : []),
    ]);
    indexes.forEach((index, i) => {
      if ([index, ...earlier.map((e) => e[i]!)].some((e) => stored.indexes.has(e))) seen.add(index);
    });
  }
  const fresh: Array<{ index: string; value: string; serial: string; barcodeFormat: string | null }> = [];
  order.cards.forEach((card, i) => {
    const index = indexes[i] as string;
    if (seen.has(index)) return;
    seen.add(index);
    fresh.push({ index, value: card.value, serial: card.serial, barcodeFormat: card.barcodeFormat ?? null });
  });
  return fresh;
}

/** Exponential backoff with ±20 % jitter, from the order's policy. */
function backoff(input: CollectInput, attempt: number): number {
  const base = Math.min(input.pollMaxMs, input.pollInitialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

function providerFailure(err: unknown, delayMs: number): ApplicationFailure {
  if (!(err instanceof ProviderError)) {
    return ApplicationFailure.create({
      type: ProviderFailureType.unavailable,
      message: 'provider call failed unexpectedly',
      nextRetryDelay: delayMs,
    });
  }
  switch (err.kind) {
    case 'not-found':
      return ApplicationFailure.nonRetryable(err.message, ProviderFailureType.notFound);
    case 'auth':
      return ApplicationFailure.nonRetryable(err.message, ProviderFailureType.auth);
    case 'contract':
      return ApplicationFailure.nonRetryable(err.message, ProviderFailureType.contract);
    case 'rate-limited':
      return ApplicationFailure.create({
        type: ProviderFailureType.rateLimited,
        message: err.message,
        nextRetryDelay: Math.max(err.retryAfterMs ?? 0, delayMs),
      });
    default:
      return ApplicationFailure.create({
        type: ProviderFailureType.unavailable,
        message: err.message,
        nextRetryDelay: delayMs,
      });
  }
}
