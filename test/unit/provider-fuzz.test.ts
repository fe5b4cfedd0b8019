/**
 * Property tests for the adapter against a provider that answers anything: whatever the status, headers
 * or body, `checkOrder` either returns an order that satisfies the contract or throws a ProviderError,
 * and no error ever carries a piece of the body (every generated body plants a `CANARY-` marker).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDER_STATUSES } from '../../contracts/order';
import {
  BARCODE_FORMATS,
  createProviderClient,
  MAX_BODY_BYTES,
  MAX_CARDS,
  MAX_RETRY_AFTER_MS,
  type ProviderClient,
  ProviderError,
  type ProviderOrder,
} from '../../domain/provider';

const ORDER_ID = 'ord_fuzz_42';
const MARKER = 'CANARY-';

interface Scripted {
  status: number;
  body: string | Buffer;
  contentType: string;
  retryAfter?: string;
  /** Send without Content-Length, in pieces, so only the streaming size cap can stop a large body. */
  chunked: boolean;
  reset: boolean;
}

let server: Server;
let client: ProviderClient;
let next: Scripted = { status: 200, body: '', contentType: 'application/json', chunked: false, reset: false };

beforeAll(async () => {
  server = createServer((req, res) => {
    const answer = next;
    req.resume();
    if (answer.reset) {
      req.socket.resetAndDestroy();
      return;
    }
    const body = typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : answer.body;
    res.statusCode = answer.status;
    res.setHeader('content-type', answer.contentType);
    if (answer.retryAfter !== undefined) res.setHeader('retry-after', answer.retryAfter);
    if (!answer.chunked) {
      res.setHeader('content-length', body.byteLength);
      res.end(body);
      return;
    }
    const step = Math.max(1, Math.ceil(body.byteLength / 4));
    for (let i = 0; i < body.byteLength; i += step) res.write(body.subarray(i, i + step));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = createProviderClient({
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey: 'fuzz-api-key-0001',
    timeoutMs: 5_000,
  });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// --- arbitraries -------------------------------------------------------------------------------------

const marker = fc.stringMatching(/^[A-Za-z0-9]{4,12}$/).map((s) => `${MARKER}${s}`);
const markedString = fc.oneof(
  marker,
  fc.tuple(fc.string({ maxLength: 20 }), marker, fc.string({ maxLength: 20 })).map((parts) => parts.join('')),
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), markedString);
const status = fc.oneof(fc.constantFrom(...PROVIDER_STATUSES), markedString, fc.string(), anyJson);

const card = fc.record(
  {
    value: fc.oneof({ weight: 4, arbitrary: markedString }, fc.string({ maxLength: 200 }), anyJson),
    serial: fc.oneof({ weight: 4, arbitrary: markedString }, fc.stringMatching(/^\d{1,20}$/), anyJson),
    barcodeFormat: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...BARCODE_FORMATS) },
      markedString,
      anyJson,
    ),
    [`${MARKER}extra`]: anyJson,
  },
  { requiredKeys: [] },
);

/** Bodies shaped like an order, with any field missing, mistyped or out of range. */
const orderLike = fc.record(
  {
    orderId: fc.oneof({ weight: 4, arbitrary: fc.constant(ORDER_ID) }, markedString, anyJson),
    status,
    quantity: fc.oneof(
      { weight: 3, arbitrary: fc.nat(20) },
      fc.integer(),
      fc.double(),
      markedString,
      anyJson,
    ),
    cards: fc.oneof({ weight: 4, arbitrary: fc.array(card, { maxLength: 6 }) }, markedString, anyJson),
    note: markedString,
  },
  { requiredKeys: [] },
);

/** A body that satisfies the contract, every card carrying the marker. */
const validOrder = fc.record({
  orderId: fc.constant(ORDER_ID),
  status: fc.constantFrom(...PROVIDER_STATUSES),
  quantity: fc.nat(50),
  cards: fc.array(
    fc.record(
      {
        value: marker,
        serial: fc.stringMatching(/^\d{6,20}$/),
        // Optional in the contract: the provider names a symbology for some cards.
        barcodeFormat: fc.constantFrom(...BARCODE_FORMATS),
      },
      { requiredKeys: ['value', 'serial'] },
    ),
    { maxLength: 8 },
  ),
});

const hugeCards = fc.integer({ min: MAX_CARDS - 2, max: MAX_CARDS + 2 }).map((n) => ({
  orderId: ORDER_ID,
  status: 'FULFILLED',
  quantity: n,
  cards: Array.from({ length: n }, (_, i) => ({ value: `${MARKER}${i}`, serial: String(100000 + i) })),
}));

const oversized = marker.map(
  (m) => `{"orderId":"${ORDER_ID}","status":"FULFILLED","pad":"${m}${'A'.repeat(MAX_BODY_BYTES)}"}`,
);

const body: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 6, arbitrary: orderLike.map((o) => JSON.stringify(o)) },
  { weight: 3, arbitrary: validOrder.map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? 'null') },
  // Cut-off JSON: V8's SyntaxError would quote the text around the cut.
  {
    weight: 2,
    arbitrary: fc.tuple(validOrder, fc.double({ min: 0, max: 1, noNaN: true })).map(([o, at]) => {
      const text = JSON.stringify(o).replace('"status"', `"${MARKER}x","status"`);
      return text.slice(0, Math.floor(text.length * at));
    }),
  },
  { weight: 2, arbitrary: markedString },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uint8Array({ maxLength: 64 }), marker)
      .map(([bytes, m]) => Buffer.concat([Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(m), bytes])),
  },
  { weight: 1, arbitrary: hugeCards.map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: oversized },
);

const headerText = fc.oneof(
  fc.nat(100_000).map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  fc.stringMatching(/^[ -~]{0,30}$/),
  marker,
);

const scripted: fc.Arbitrary<Scripted> = fc.record({
  status: fc.oneof(
    { weight: 8, arbitrary: fc.constant(200) },
    { weight: 1, arbitrary: fc.constantFrom(401, 403, 404, 408, 429, 500, 502, 503) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) },
  ),
  body,
  contentType: fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'text/html',
  ),
  retryAfter: fc.option(headerText, { nil: undefined }),
  chunked: fc.boolean(),
  reset: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

// --- checks ------------------------------------------------------------------------------------------

function expectValidOrder(order: ProviderOrder): void {
  expect(order.orderId).toBe(ORDER_ID);
  expect(PROVIDER_STATUSES).toContain(order.status);
  expect(Number.isSafeInteger(order.quantity) && order.quantity >= 0).toBe(true);
  expect(Array.isArray(order.cards) && order.cards.length <= MAX_CARDS).toBe(true);
  for (const c of order.cards) {
    const keys = Object.keys(c).sort();
    expect([
      ['serial', 'value'],
      ['barcodeFormat', 'serial', 'value'],
    ]).toContainEqual(keys);
    if (c.barcodeFormat !== undefined) expect(BARCODE_FORMATS).toContain(c.barcodeFormat);
    expect(typeof c.value === 'string' && c.value.length >= 1 && c.value.length <= 128).toBe(true);
    expect(typeof c.serial === 'string' && c.serial.length >= 1 && c.serial.length <= 128).toBe(true);
  }
}

function expectCleanError(err: unknown, answer: Scripted): void {
  expect(err).toBeInstanceOf(ProviderError);
  const e = err as ProviderError;
  expect(['not-found', 'auth', 'rate-limited', 'unavailable', 'contract']).toContain(e.kind);
  expect(e.retryable).toBe(e.kind === 'rate-limited' || e.kind === 'unavailable');
  if (e.kind === 'rate-limited') {
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(0);
    expect(e.retryAfterMs).toBeLessThanOrEqual(MAX_RETRY_AFTER_MS);
  }
  const text = `${e.message}\n${e.stack ?? ''}\n${JSON.stringify(e)}\n${String(e.cause ?? '')}`;
  expect(text).not.toContain(MARKER);
  expect(text).not.toContain('fuzz-api-key-0001');
  const bodyText = answer.body.toString();
  if (bodyText.length >= 12) expect(text).not.toContain(bodyText);
  expect(e.message.length).toBeLessThan(400);
}

describe('provider adapter under arbitrary responses', () => {
  it('returns a contract-valid order or throws a clean ProviderError, whatever the provider says', async () => {
    await fc.assert(
      fc.asyncProperty(scripted, async (answer) => {
        next = answer;
        let order: ProviderOrder | undefined;
        try {
          order = await client.checkOrder(ORDER_ID);
        } catch (err) {
          expectCleanError(err, answer);
          return;
        }
        expect(answer.status).toBeGreaterThanOrEqual(200);
        expect(answer.status).toBeLessThan(300);
        expect(answer.reset).toBe(false);
        expectValidOrder(order);
      }),
      { numRuns: 200 },
    );
  }, 60_000);

  it('accepts every contract-valid body as it is (extra keys dropped)', async () => {
    await fc.assert(
      fc.asyncProperty(validOrder, fc.boolean(), async (valid, chunked) => {
        const withExtras = {
          ...valid,
          extra: `${MARKER}x`,
          cards: valid.cards.map((c) => ({ ...c, pin: 1 })),
        };
        next = {
          status: 200,
          body: JSON.stringify(withExtras),
          contentType: 'application/json',
          chunked,
          reset: false,
        };
        expect(await client.checkOrder(ORDER_ID)).toEqual(valid);
      }),
      { numRuns: 50 },
    );
  }, 30_000);

  it('classifies statuses and Retry-After as the contract says', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(401, 403, 404, 429, 500, 502, 503, 504),
        fc.option(headerText, { nil: undefined }),
        async (status, retryAfter) => {
          next = {
            status,
            body: `{"error":"${MARKER}body"}`,
            contentType: 'application/json',
            retryAfter,
            chunked: false,
            reset: false,
          };
          let caught: unknown;
          try {
            await client.checkOrder(ORDER_ID);
          } catch (err) {
            caught = err;
          }
          expectCleanError(caught, next);
          const e = caught as ProviderError;
          const expected =
            status === 404
              ? 'not-found'
              : status === 429
                ? 'rate-limited'
                : status >= 500
                  ? 'unavailable'
                  : 'auth';
          expect(e.kind).toBe(expected);
          expect(e.httpStatus).toBe(status);
          if (status === 429 && retryAfter !== undefined && /^\d+$/.test(retryAfter)) {
            expect(e.retryAfterMs).toBe(Math.min(Number(retryAfter) * 1000, MAX_RETRY_AFTER_MS));
          }
          if (status === 429 && retryAfter === undefined) expect(e.retryAfterMs).toBe(5_000);
        },
      ),
      { numRuns: 40 },
    );
  }, 30_000);
});
