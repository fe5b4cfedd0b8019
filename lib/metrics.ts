/**
 * The pipeline's own metrics (prom-client), one definition each, in one registry per process. Each
 * process serves the registry on its ops port (lib/ops-server.ts); the Temporal SDK's metrics come from
 * its own exporter (workers/runtime.ts).
 *
 * Labels are closed sets chosen here (outcomes, classes, operations, bucket names): never an order id, an
 * address, a token or a card, which would both leak and explode the series count.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'giftcards_' });

const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
  new Counter<L>({ name, help, labelNames, registers: [registry] });
const histogram = <L extends string>(
  name: string,
  help: string,
  buckets: number[],
  labelNames: readonly L[] = [],
) => new Histogram<L>({ name, help, buckets, labelNames, registers: [registry] });

/** Calls to a dependency: milliseconds to a minute. */
const CALL_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** An order from its start to its link email: an instant order to a day-long wait for the provider. */
const ORDER_SECONDS = [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600];

export const metrics = {
  ordersStarted: counter('giftcards_orders_started_total', 'Orders registered by their workflow.'),
  ordersFinished: counter('giftcards_orders_finished_total', 'Orders that reached an outcome, by outcome.', [
    'outcome',
  ]),
  startToDelivery: histogram(
    'giftcards_order_start_to_link_seconds',
    "Time from an order's start to its first link email.",
    ORDER_SECONDS,
  ),
  cardsStored: counter('giftcards_cards_stored_total', 'Cards encrypted and stored.'),
  links: counter('giftcards_links_total', 'Link events: sent, revealed, downloaded, expired, revoked.', [
    'event',
  ]),
  deliveriesFailed: counter(
    'giftcards_deliveries_failed_total',
    'Deliveries that ended without a link email, by reason.',
    ['reason'],
  ),
  purges: counter('giftcards_orders_purged_total', 'Orders whose cards were deleted, by why.', ['reason']),
  keyBucketsDestroyed: counter(
    'giftcards_key_buckets_destroyed_total',
    'Vault card-key buckets destroyed by the retention sweep.',
  ),
  providerResponses: counter(
    'giftcards_provider_responses_total',
    "The provider's answers, by class (ok, not_ready, 4xx kinds, 429, 5xx, timeout, network, contract_violation).",
    ['class'],
  ),
  providerLatency: histogram(
    'giftcards_provider_request_seconds',
    'Provider request latency, by class.',
    CALL_SECONDS,
    ['class'],
  ),
  vaultRequests: counter('giftcards_vault_requests_total', 'Vault calls, by operation and result.', [
    'operation',
    'result',
  ]),
  vaultLatency: histogram(
    'giftcards_vault_request_seconds',
    'Vault call latency, by operation and result.',
    CALL_SECONDS,
    ['operation', 'result'],
  ),
  emails: counter(
    'giftcards_emails_total',
    'Emails, by kind (link, notice) and result (sent, temporary, refused).',
    ['kind', 'result'],
  ),
  rateLimited: counter(
    'giftcards_rate_limited_requests_total',
    'Requests refused by a rate limit, by bucket.',
    ['bucket'],
  ),
  codecPayloads: counter(
    'giftcards_codec_payloads_total',
    'Payloads through the Temporal payload codec, by operation (encode, decode) and result.',
    ['operation', 'result'],
  ),
};

/** Times `fn` into a histogram and counts it, both labelled by what `labels` makes of its outcome. */
export async function observed<T, L extends string>(
  latency: Histogram<L>,
  count: Counter<L>,
  labels: (outcome: { value: T } | { error: unknown }) => Partial<Record<L, string>>,
  fn: () => Promise<T>,
): Promise<T> {
  const start = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
  try {
    const value = await fn();
    const l = labels({ value });
    latency.observe(l, seconds());
    count.inc(l);
    return value;
  } catch (error) {
    const l = labels({ error });
    latency.observe(l, seconds());
    count.inc(l);
    throw error;
  }
}
