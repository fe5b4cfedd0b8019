/**
 * The sandbox and the real adapter against each other, over real HTTP: every scenario must come out of
 * `checkOrder` as the contract says (DESIGN 4), and nothing the provider sent may leak into an error or a
 * sandbox log line.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_PROVIDER_STATUSES } from '../../contracts/order';
import {
  createProviderClient,
  type ProviderClient,
  ProviderError,
  type ProviderOrder,
} from '../../domain/provider';
import { createLogger } from '../../lib/logger';
import { buildSandbox } from '../../provider-sandbox/server';

const API_KEY = `sandbox-test-key-${randomUUID()}`;
const CODE = /^[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}$/;
const CARD_SHAPED = /[A-Z0-9]{4}(-[A-Z0-9]{4}){3}/;

interface SandboxView {
  orderId: string;
  scenario: string;
  quantity: number;
  polls: number;
  cards: Array<{ value: string; serial: string }>;
  issued: Array<{ value: string; serial: string }>;
}

let app: FastifyInstance;
let baseUrl: string;
let client: ProviderClient;
const logLines: string[] = [];

beforeAll(async () => {
  const log = createLogger(
    { level: 'debug', name: 'sandbox-test' },
    { write: (line) => logLines.push(line) },
  );
  app = buildSandbox({ apiKey: API_KEY, logger: log });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  client = createProviderClient({ baseUrl, apiKey: API_KEY, timeoutMs: 5_000 });
});

afterAll(async () => {
  await app?.close();
});

const id = (scenario: string) => `${scenario}-${randomUUID().slice(0, 8)}`;

async function sandbox(method: string, path: string, body?: unknown, apiKey = API_KEY): Promise<Response> {
  return fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'X-API-Key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function view(orderId: string): Promise<SandboxView> {
  const res = await sandbox('GET', `/sandbox/orders/${encodeURIComponent(orderId)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as SandboxView;
}

async function register(body: Record<string, unknown>): Promise<SandboxView> {
  const res = await sandbox('POST', '/sandbox/orders', body);
  expect(res.status).toBe(201);
  return (await res.json()) as SandboxView;
}

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

async function pollTimes(orderId: string, n: number, c: ProviderClient = client): Promise<ProviderOrder[]> {
  const out: ProviderOrder[] = [];
  for (let i = 0; i < n; i++) out.push(await c.checkOrder(orderId));
  return out;
}

function expectWellFormedCards(order: ProviderOrder): void {
  for (const card of order.cards) {
    expect(card.value).toMatch(CODE);
    expect(card.serial).toMatch(/^\d{12}$/);
  }
}

/** An error must say what went wrong without repeating anything the provider sent. */
function expectNoSecrets(err: ProviderError, sent: SandboxView): void {
  const text = `${err.message}\n${err.stack ?? ''}\n${JSON.stringify(err)}`;
  expect(text).not.toMatch(CARD_SHAPED);
  expect(text).not.toContain(API_KEY);
  for (const card of sent.cards) {
    expect(text).not.toContain(card.value);
    expect(text).not.toContain(card.serial);
  }
}

describe('provider sandbox through the real adapter', () => {
  it('instant: FULFILLED with all cards, the same cards on every poll', async () => {
    const orderId = id('instant');
    const [first, second] = await pollTimes(orderId, 2);
    expect(first?.status).toBe('FULFILLED');
    expect(first?.orderId).toBe(orderId);
    expect(first?.quantity).toBe(3);
    expect(first?.cards).toHaveLength(3);
    expectWellFormedCards(first!);
    expect(new Set(first?.cards.map((c) => c.value)).size).toBe(3);
    expect(second).toEqual(first);
    const sent = await view(orderId);
    expect(sent).toMatchObject({ scenario: 'instant', polls: 2, cards: first?.cards, issued: first?.cards });
  });

  it('an order id without a scenario prefix is instant', async () => {
    const order = await client.checkOrder(`ord_${randomUUID()}`);
    expect(order.status).toBe('FULFILLED');
    expect(order.cards).toHaveLength(3);
  });

  it('slow: PROCESSING without cards for three polls, then FULFILLED', async () => {
    const orderId = id('slow');
    const polls = await pollTimes(orderId, 5);
    expect(polls.map((p) => p.status)).toEqual([
      'PROCESSING',
      'PROCESSING',
      'PROCESSING',
      'FULFILLED',
      'FULFILLED',
    ]);
    expect(polls.slice(0, 3).every((p) => p.cards.length === 0)).toBe(true);
    expect(polls[3]?.cards).toHaveLength(3);
    expectWellFormedCards(polls[3]!);
  });

  it('slow honours a registered processingPolls', async () => {
    const orderId = `ord_${randomUUID()}`;
    await register({ orderId, scenario: 'slow', processingPolls: 1, quantity: 2 });
    const polls = await pollTimes(orderId, 2);
    expect(polls.map((p) => p.status)).toEqual(['PROCESSING', 'FULFILLED']);
    expect(polls[1]?.cards).toHaveLength(2);
  });

  it('partial-then-full: half, the same half again, then all of them (union = everything)', async () => {
    const orderId = `partial-then-full-${randomUUID().slice(0, 4)}`;
    await register({ orderId, scenario: 'partial-then-full', quantity: 5 });
    const [p1, p2, p3, p4] = await pollTimes(orderId, 4);
    expect([p1, p2, p3, p4].map((p) => p?.status)).toEqual([
      'PARTIALLY_FILLED',
      'PARTIALLY_FILLED',
      'FULFILLED',
      'FULFILLED',
    ]);
    expect(p1?.cards).toHaveLength(3);
    expect(p2?.cards).toEqual(p1?.cards);
    expect(p3?.cards).toHaveLength(5);
    expect(p3?.cards.slice(0, 3)).toEqual(p1?.cards);
    const union = new Map([...p1!.cards, ...p2!.cards, ...p3!.cards].map((c) => [c.value, c]));
    expect(union.size).toBe(5);
    const sent = await view(orderId);
    expect([...union.values()]).toEqual(sent.cards);
    expect(sent.issued).toEqual(sent.cards);
  });

  it('the order-id prefix picks the longest matching scenario', async () => {
    const orderId = 'partial-then-full-8f3a';
    await sandbox('DELETE', `/sandbox/orders/${orderId}`);
    expect((await client.checkOrder(orderId)).status).toBe('PARTIALLY_FILLED');
    expect((await view(orderId)).scenario).toBe('partial-then-full');
    expect((await view(id('slow-response'))).scenario).toBe('slow-response');
    expect((await view(id('partial-forever'))).scenario).toBe('partial-forever');
  });

  it('partial-then-failed: half, then FAILED with the same cards', async () => {
    const orderId = id('partial-then-failed');
    const [p1, p2, p3] = await pollTimes(orderId, 3);
    expect([p1, p2, p3].map((p) => p?.status)).toEqual(['PARTIALLY_FILLED', 'FAILED', 'FAILED']);
    expect(p1?.cards).toHaveLength(2);
    expect(p2?.cards).toEqual(p1?.cards);
    expect(p3?.cards).toEqual(p1?.cards);
    const sent = await view(orderId);
    expect(sent.issued).toEqual(p1?.cards);
    expect(sent.cards).toHaveLength(3);
  });

  it('partial-forever: the same half, poll after poll', async () => {
    const orderId = id('partial-forever');
    const polls = await pollTimes(orderId, 4);
    for (const p of polls) {
      expect(p.status).toBe('PARTIALLY_FILLED');
      expect(p.cards).toEqual(polls[0]?.cards);
    }
    expect(polls[0]?.cards).toHaveLength(2);
  });

  it('never: PENDING, then PROCESSING for ever', async () => {
    const polls = await pollTimes(id('never'), 5);
    expect(polls.map((p) => p.status)).toEqual([
      'PENDING',
      'PROCESSING',
      'PROCESSING',
      'PROCESSING',
      'PROCESSING',
    ]);
    expect(polls.every((p) => p.cards.length === 0)).toBe(true);
  });

  it('failed and cancelled are final without cards', async () => {
    const failed = await client.checkOrder(id('failed'));
    const cancelled = await client.checkOrder(id('cancelled'));
    expect(failed).toMatchObject({ status: 'FAILED', cards: [] });
    expect(cancelled).toMatchObject({ status: 'CANCELLED', cards: [] });
    expect(FINAL_PROVIDER_STATUSES).toEqual(expect.arrayContaining(['FULFILLED', 'FAILED', 'CANCELLED']));
    expect(FINAL_PROVIDER_STATUSES).not.toContain('PARTIALLY_FILLED');
  });

  it('flaky: unavailable (retryable) for the first polls, then FULFILLED; error answers are counted', async () => {
    const orderId = id('flaky');
    const e1 = await providerError(client.checkOrder(orderId));
    const e2 = await providerError(client.checkOrder(orderId));
    for (const e of [e1, e2]) {
      expect(e.kind).toBe('unavailable');
      expect(e.retryable).toBe(true);
      expect(e.httpStatus).toBeGreaterThanOrEqual(500);
    }
    expect((await client.checkOrder(orderId)).status).toBe('FULFILLED');
    expect((await view(orderId)).polls).toBe(3);
  });

  it('flaky honours a registered failures count', async () => {
    const orderId = `ord_${randomUUID()}`;
    await register({ orderId, scenario: 'flaky', failures: 3 });
    for (let i = 0; i < 3; i++)
      expect((await providerError(client.checkOrder(orderId))).kind).toBe('unavailable');
    expect((await client.checkOrder(orderId)).status).toBe('FULFILLED');
  });

  it('rate-limited: 429 with Retry-After → retryAfterMs, then FULFILLED', async () => {
    const orderId = id('rate-limited');
    const err = await providerError(client.checkOrder(orderId));
    expect(err).toMatchObject({ kind: 'rate-limited', retryable: true, httpStatus: 429 });
    expect(err.retryAfterMs).toBeGreaterThanOrEqual(1_900);
    expect(err.retryAfterMs).toBeLessThanOrEqual(2_100);
    expect((await client.checkOrder(orderId)).status).toBe('FULFILLED');

    const custom = `ord_${randomUUID()}`;
    await register({ orderId: custom, scenario: 'rate-limited', retryAfterSeconds: 7 });
    expect((await providerError(client.checkOrder(custom))).retryAfterMs).toBe(7_000);
  });

  it('slow-response: a client with a shorter timeout gets unavailable; the next poll answers at once', async () => {
    const orderId = `ord_${randomUUID()}`;
    await register({ orderId, scenario: 'slow-response', delayMs: 3_000 });
    const impatient = createProviderClient({ baseUrl, apiKey: API_KEY, timeoutMs: 300 });
    const started = Date.now();
    const err = await providerError(impatient.checkOrder(orderId));
    expect(err).toMatchObject({ kind: 'unavailable', retryable: true });
    expect(err.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(2_000);
    // The client gave up before the delayed answer: nothing was issued.
    expect((await view(orderId)).issued).toEqual([]);
    const order = await impatient.checkOrder(orderId);
    expect(order.status).toBe('FULFILLED');
    expect((await view(orderId)).issued).toEqual(order.cards);
  });

  it('slow-response by prefix waits the default delay (longer than a short timeout)', async () => {
    const impatient = createProviderClient({ baseUrl, apiKey: API_KEY, timeoutMs: 300 });
    const orderId = id('slow-response');
    expect((await providerError(impatient.checkOrder(orderId))).kind).toBe('unavailable');
    expect((await impatient.checkOrder(orderId)).status).toBe('FULFILLED');
  });

  it('reset: a dropped connection is unavailable, then FULFILLED', async () => {
    const orderId = id('reset');
    const err = await providerError(client.checkOrder(orderId));
    expect(err).toMatchObject({ kind: 'unavailable', retryable: true });
    expect((await client.checkOrder(orderId)).status).toBe('FULFILLED');
  });

  it('malformed: both bodies are contract errors that do not repeat the card code', async () => {
    const orderId = id('malformed');
    const e1 = await providerError(client.checkOrder(orderId));
    const e2 = await providerError(client.checkOrder(orderId));
    const sent = await view(orderId);
    for (const e of [e1, e2]) {
      expect(e).toMatchObject({ kind: 'contract', retryable: false });
      expect(e.message).toContain(orderId);
      expectNoSecrets(e, sent);
    }
    expect(e1.message).toMatch(/cards/);
    expect(e2.message).toMatch(/not valid JSON/);
  });

  it('a card registered with a barcodeFormat carries it; one the contract does not know is a contract error', async () => {
    const orderId = id('instant');
    await register({
      orderId,
      scenario: 'instant',
      cards: [
        { value: '4006381333931', serial: '100000000001', barcodeFormat: 'ean13' },
        { value: 'PLAIN-CARD-0001', serial: '100000000002' },
      ],
    });
    const order = await client.checkOrder(orderId);
    expect(order.cards).toEqual([
      { value: '4006381333931', serial: '100000000001', barcodeFormat: 'ean13' },
      { value: 'PLAIN-CARD-0001', serial: '100000000002' },
    ]);

    const odd = id('instant');
    await register({
      orderId: odd,
      scenario: 'instant',
      cards: [{ value: 'ODD-FORMAT-0001', serial: '100000000003', barcodeFormat: 'maxicode' }],
    });
    const err = await providerError(client.checkOrder(odd));
    expect(err).toMatchObject({ kind: 'contract', retryable: false });
    expect(err.message).toMatch(/barcodeFormat/);
    expect(`${err.message}${err.stack}`).not.toContain('ODD-FORMAT-0001');
    expect(`${err.message}${err.stack}`).not.toContain('maxicode');
  });

  it('unknown-status: SHIPPED is a contract error, not a success', async () => {
    const orderId = id('unknown-status');
    const err = await providerError(client.checkOrder(orderId));
    expect(err).toMatchObject({ kind: 'contract', retryable: false });
    expect(err.message).toMatch(/status is not a known value/);
    expect(err.message).not.toContain('SHIPPED');
    expectNoSecrets(err, await view(orderId));
  });

  it('unauthorized and not-found scenarios are final', async () => {
    const auth = await providerError(client.checkOrder(id('unauthorized')));
    expect(auth).toMatchObject({ kind: 'auth', retryable: false, httpStatus: 401 });
    const missing = await providerError(client.checkOrder(id('not-found')));
    expect(missing).toMatchObject({ kind: 'not-found', retryable: false, httpStatus: 404 });
  });

  it('a wrong or missing API key is 401 and does not count as a poll', async () => {
    const orderId = id('instant');
    const wrong = createProviderClient({ baseUrl, apiKey: 'not-the-key-at-all', timeoutMs: 2_000 });
    const err = await providerError(wrong.checkOrder(orderId));
    expect(err).toMatchObject({ kind: 'auth', retryable: false, httpStatus: 401 });
    expect(err.message).not.toContain('not-the-key-at-all');

    const bare = await fetch(`${baseUrl}/v3/gift-cards/checkOrder/${orderId}`);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toEqual({ error: 'unauthorized' });
    expect((await sandbox('GET', `/sandbox/orders/${orderId}`, undefined, 'wrong-key-123')).status).toBe(401);
    expect((await view(orderId)).polls).toBe(0);
  });

  it('registration with explicit cards serves exactly those cards', async () => {
    const orderId = `ord_${randomUUID()}`;
    const cards = [
      { value: `CANARY-${randomUUID()}`, serial: 'SERIAL-CANARY-1' },
      { value: `CANARY-${randomUUID()}`, serial: 'SERIAL-CANARY-2' },
    ];
    const registered = await register({ orderId, scenario: 'instant', cards });
    expect(registered).toMatchObject({ quantity: 2, polls: 0, cards, issued: [] });
    const order = await client.checkOrder(orderId);
    expect(order).toEqual({ orderId, status: 'FULFILLED', quantity: 2, cards });
  });

  it('explicit cards are topped up with generated ones up to quantity', async () => {
    const orderId = `ord_${randomUUID()}`;
    const cards = [{ value: `CANARY-${randomUUID()}`, serial: 'SERIAL-CANARY-3' }];
    await register({ orderId, scenario: 'partial-then-full', cards, quantity: 4 });
    const [p1] = await pollTimes(orderId, 1);
    expect(p1?.cards).toHaveLength(2);
    expect(p1?.cards[0]).toEqual(cards[0]);
    expect(p1?.cards[1]?.value).toMatch(CODE);
  });

  it('rejects an invalid registration by field name only', async () => {
    const res = await sandbox('POST', '/sandbox/orders', {
      orderId: 'x',
      scenario: 'teleport',
      cards: [{ value: 'CANARY-reg', serial: '' }],
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toContain('CANARY-reg');
    expect(JSON.parse(text).fields).toEqual(expect.arrayContaining(['scenario']));
  });

  it('DELETE resets an order: its polls start over', async () => {
    const orderId = id('slow');
    await pollTimes(orderId, 2);
    expect((await view(orderId)).polls).toBe(2);
    expect((await sandbox('DELETE', `/sandbox/orders/${orderId}`)).status).toBe(204);
    expect((await client.checkOrder(orderId)).status).toBe('PROCESSING');
    expect((await view(orderId)).polls).toBe(1);
  });

  it('order ids are sent encoded', async () => {
    const orderId = 'ord/with spaces?&#%';
    const order = await client.checkOrder(orderId);
    expect(order.orderId).toBe(orderId);
    expect((await view(orderId)).polls).toBe(1);
  });

  it('never logs a card value or serial, only order, scenario, poll and status', async () => {
    const orderId = `ord_${randomUUID()}`;
    const cards = [{ value: `CANARY-${randomUUID()}`, serial: `SERIAL-${randomUUID()}` }];
    await register({ orderId, scenario: 'partial-then-full', cards, quantity: 2 });
    await pollTimes(orderId, 3);
    const all = (await view(orderId)).cards;
    const log = logLines.join('');
    expect(log).toContain(orderId);
    expect(log).toMatch(/"poll":3/);
    for (const card of all) {
      expect(log).not.toContain(card.value);
      expect(log).not.toContain(card.serial);
    }
    expect(log).not.toContain(API_KEY);
  });
});
