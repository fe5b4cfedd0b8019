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
import { auditEach } from '../lib/audit';
import { metrics } from '../lib/metrics';
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
  const audited = auditEach(
    'n WHERE n.inserted > 0',
    {
      orderId,
      event: 'CARDS_STORED',
      actor: 'worker',
      method: 'activity:collect',
      detail: { key, providerStatus: order.status },
    },
    7,
    'n.inserted',
  );
  // The symbology each card's provider named (not secret: stored in clear beside the ciphertext). Only a
  // poll that brings one writes the column, so a worker deployed before its migration stores format-less
  // cards as it always did.
  const withFormats = fresh.some((c) => c.barcodeFormat !== null);
  const formatsParam = 8 + audited.params.length;
  const insert = withFormats
    ? `INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name, barcode_format)
       SELECT $1, i, v, s, $5, f FROM unnest($2::text[], $3::text[], $4::text[], $${formatsParam}::text[]) AS t(i, v, s, f)`
    : `INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
       SELECT $1, i, v, s, $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS t(i, v, s)`;
  // The final SELECT sees the cards as they were when the statement began, its own inserts not yet.
  const { rows } = await deps.db.query<{ inserted: number; stored: number }>({
    name: withFormats ? 'collect-store-cards-formats' : 'collect-store-cards',
    text: `WITH new AS (
       ${insert}
       ON CONFLICT (order_id, blind_index) DO NOTHING RETURNING 1),
     n AS (SELECT count(*)::int AS inserted FROM new),
     audited AS (${audited.sql}),
     answered AS (
       UPDATE orders SET provider_status = $6, quantity = $7, updated_at = now() WHERE order_id = $1)
     SELECT n.inserted, n.inserted + (SELECT count(*)::int FROM cards WHERE order_id = $1) AS stored FROM n`,
    values: [
      orderId,
      fresh.map((c) => c.index),
      fresh.map((_, i) => ciphertexts[2 * i]),
      fresh.map((_, i) => ciphertexts[2 * i + 1]),
      key,
      order.status,
      order.quantity,
      ...audited.params,
      ...(withFormats ? [fresh.map((c) => c.barcodeFormat)] : []),
    ],
  });
  const { inserted, stored } = rows[0]!;
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
    const stored = await storedIndexes(deps, orderId);
    const under = async (indexKey: string, version: number) =>
      indexKey === key ? indexes : deps.transit.hmacBatch(indexKey, inputs, version);
    const earlier = await Promise.all([
      ...[...stored.buckets].map((bucket) => under(bucket, INDEX_KEY_VERSION)),
      ...(stored.legacy ? [under(deps.indexKey, deps.indexKeyVersion)] : []),
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

/**
 * The blind indexes of the order's stored cards and the buckets they are in; `legacy`: compare under the
 * shared index key (VAULT_INDEX_KEY) too, for cards stored before indexes moved to buckets. Once no order
 * stored before that can be open (its deadline), VAULT_INDEX_KEY and this comparison can go.
 */
async function storedIndexes(deps: ActivityDeps, orderId: string) {
  const { rows } = await deps.db.query<{ blind_index: string; key_name: string }>({
    name: 'collect-stored-indexes',
    text: 'SELECT blind_index, key_name FROM cards WHERE order_id = $1',
    values: [orderId],
  });
  return {
    indexes: new Set(rows.map((r) => r.blind_index)),
    buckets: new Set(rows.map((r) => r.key_name)),
    legacy: rows.length > 0 && deps.indexKey !== '',
  };
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
