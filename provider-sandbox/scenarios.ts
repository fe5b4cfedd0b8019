/**
 * Scripted provider behaviour. Each order follows one scenario, and its answer is a pure function of how
 * many times it has been polled, so tests (and the workflow's retries) see the same sequence every run.
 * Only the cards are random, and they are drawn once per order so that repeated polls repeat them.
 */
import { randomInt } from 'node:crypto';

export const SCENARIOS = [
  'instant',
  'slow',
  'partial-then-full',
  'partial-then-failed',
  'partial-forever',
  'never',
  'failed',
  'cancelled',
  'flaky',
  'rate-limited',
  'slow-response',
  'reset',
  'malformed',
  'unknown-status',
  'unauthorized',
  'not-found',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

const DEFAULTS = {
  quantity: 3,
  processingPolls: 3,
  retryAfterSeconds: 2,
  delayMs: 15_000,
  failures: 2,
} as const;

export interface SandboxCard {
  value: string;
  serial: string;
  /** The symbology the provider names for the card (domain/provider.ts BARCODE_FORMATS); optional, as in the contract. */
  barcodeFormat?: string;
}

export interface OrderOptions {
  quantity?: number;
  cards?: SandboxCard[];
  processingPolls?: number;
  retryAfterSeconds?: number;
  delayMs?: number;
  failures?: number;
}

export interface SandboxOrder {
  orderId: string;
  scenario: Scenario;
  quantity: number;
  cards: SandboxCard[];
  processingPolls: number;
  retryAfterSeconds: number;
  delayMs: number;
  failures: number;
  polls: number;
  /** When the latest polls came (epoch ms, the last 1,000): tests measure the rate we poll at. */
  polledAt: number[];
  /** How many of `cards` (a prefix) have been sent in an answer so far. */
  issued: number;
}

export type Answer =
  | { type: 'order'; status: string; cards: SandboxCard[] }
  | { type: 'error'; httpStatus: number; error: string; retryAfterSeconds?: number }
  | { type: 'raw'; httpStatus: number; contentType: string; body: string }
  | { type: 'reset' }
  | { type: 'delay'; ms: number; after: Answer };

// Longest first, so that "partial-then-full-…" is not taken for a shorter name that prefixes it.
const BY_LENGTH = [...SCENARIOS].sort((a, b) => b.length - a.length);

/** The scenario an order id asks for by its prefix (`slow-42` → slow); anything else is `instant`. */
export function scenarioForOrderId(orderId: string): Scenario {
  return BY_LENGTH.find((name) => orderId.startsWith(`${name}-`)) ?? 'instant';
}

// No 0/O, 1/I/L: codes are typed by people.
export const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

function generateCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let group = '';
    for (let i = 0; i < 4; i++) group += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

function generateSerial(): string {
  // A leading non-zero digit keeps the serial 12 digits long if someone stores it as a number.
  let serial = String(randomInt(1, 10));
  for (let i = 1; i < 12; i++) serial += String(randomInt(10));
  return serial;
}

/** Cards for an order: the explicit ones first, then fresh random ones up to `quantity`, no duplicates. */
function generateCards(quantity: number, explicit: SandboxCard[] = []): SandboxCard[] {
  const cards: SandboxCard[] = explicit.map((c) =>
    c.barcodeFormat
      ? { value: c.value, serial: c.serial, barcodeFormat: c.barcodeFormat }
      : { value: c.value, serial: c.serial },
  );
  const seen = new Set(cards.map((c) => c.value));
  while (cards.length < quantity) {
    const card = { value: generateCode(), serial: generateSerial() };
    if (seen.has(card.value)) continue;
    seen.add(card.value);
    cards.push(card);
  }
  return cards;
}

export function createOrder(orderId: string, scenario: Scenario, options: OrderOptions = {}): SandboxOrder {
  const quantity = options.quantity ?? options.cards?.length ?? DEFAULTS.quantity;
  return {
    orderId,
    scenario,
    quantity,
    cards: generateCards(quantity, options.cards),
    processingPolls: options.processingPolls ?? DEFAULTS.processingPolls,
    retryAfterSeconds: options.retryAfterSeconds ?? DEFAULTS.retryAfterSeconds,
    delayMs: options.delayMs ?? DEFAULTS.delayMs,
    failures: options.failures ?? DEFAULTS.failures,
    polls: 0,
    polledAt: [],
    issued: 0,
  };
}

/** Counts a poll and returns what to answer to it. */
export function poll(order: SandboxOrder): Answer {
  order.polls += 1;
  order.polledAt.push(Date.now());
  if (order.polledAt.length > 1_000) order.polledAt.shift();
  return answerFor(order, order.polls);
}

/** Records that an answer carrying `count` cards went out (every scenario sends a prefix of them). */
export function markIssued(order: SandboxOrder, count: number): void {
  if (count > order.issued) order.issued = count;
}

function answerFor(order: SandboxOrder, n: number): Answer {
  const all = order.cards;
  const half = all.slice(0, Math.ceil(order.quantity / 2));
  const ok = (status: string, cards: SandboxCard[] = []): Answer => ({ type: 'order', status, cards });

  switch (order.scenario) {
    case 'instant':
      return ok('FULFILLED', all);
    case 'slow':
      return n <= order.processingPolls ? ok('PROCESSING') : ok('FULFILLED', all);
    case 'partial-then-full':
      return n <= 2 ? ok('PARTIALLY_FILLED', half) : ok('FULFILLED', all);
    case 'partial-then-failed':
      return n === 1 ? ok('PARTIALLY_FILLED', half) : ok('FAILED', half);
    case 'partial-forever':
      return ok('PARTIALLY_FILLED', half);
    case 'never':
      return n === 1 ? ok('PENDING') : ok('PROCESSING');
    case 'failed':
      return ok('FAILED');
    case 'cancelled':
      return ok('CANCELLED');
    case 'flaky':
      if (n > order.failures) return ok('FULFILLED', all);
      // Mostly 503, with a 500 now and then: both are "try again later".
      return n % 2 === 0
        ? { type: 'error', httpStatus: 500, error: 'internal error' }
        : { type: 'error', httpStatus: 503, error: 'service unavailable' };
    case 'rate-limited':
      return n === 1
        ? {
            type: 'error',
            httpStatus: 429,
            error: 'rate limited',
            retryAfterSeconds: order.retryAfterSeconds,
          }
        : ok('FULFILLED', all);
    case 'slow-response':
      return n === 1
        ? { type: 'delay', ms: order.delayMs, after: ok('FULFILLED', all) }
        : ok('FULFILLED', all);
    case 'reset':
      return n === 1 ? { type: 'reset' } : ok('FULFILLED', all);
    case 'malformed':
      return malformed(order, n);
    case 'unknown-status':
      return ok('SHIPPED', all);
    case 'unauthorized':
      return { type: 'error', httpStatus: 401, error: 'unauthorized' };
    case 'not-found':
      return { type: 'error', httpStatus: 404, error: 'not found' };
  }
}

/**
 * Bodies that break the contract while carrying a real card code, so a test can check that the
 * adapter's error does not repeat what it refused.
 */
function malformed(order: SandboxOrder, n: number): Answer {
  const code = order.cards[0]?.value ?? generateCode();
  const body =
    n % 2 === 1
      ? JSON.stringify({ orderId: order.orderId, status: 'FULFILLED', cards: code })
      : `{"orderId":${JSON.stringify(order.orderId)},"status":"FULFILLED","cards":[{"value":"${code}",`;
  return { type: 'raw', httpStatus: 200, contentType: 'application/json', body };
}

/** A label for logs: the status or HTTP error an answer carries, never its cards. */
export function describeAnswer(answer: Answer): string {
  switch (answer.type) {
    case 'order':
      return answer.status;
    case 'error':
      return `HTTP ${answer.httpStatus}`;
    case 'raw':
      return `malformed HTTP ${answer.httpStatus}`;
    case 'reset':
      return 'connection reset';
    case 'delay':
      return `${describeAnswer(answer.after)} after ${answer.ms} ms`;
  }
}
