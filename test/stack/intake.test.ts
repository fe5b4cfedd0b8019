/**
 * The signed intake API on the real stack: a signed request starts an order on a real worker (Temporal dev
 * server, Vault, PostgreSQL, SMTP, provider sandbox) and the order is delivered; replays, forgeries, stale
 * timestamps, oversized and mistyped bodies are refused. The order's owner then sees its cards through the
 * in-app API, which closes the loop from upstream system to customer app.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { workflowIdFor } from '../../contracts/order';
import {
  canonicalJson,
  defaultPolicy,
  orderRequestDigest,
  orderRequestSchema,
  resendLink,
  startOrder,
} from '../../domain/orders';
import { signatureHeader as signIntakeRequest } from '../../domain/signing';
import { config } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { connectVault, type VaultSession } from '../../lib/vault';
import { type AppIssuer, revealInApp, startAppIssuer } from '../helpers/app-issuer';
import { type RunningDecryptor, startDecryptor } from '../helpers/decryptor';
import { intakeClient } from '../helpers/intake';
import { mailFor, waitForMail } from '../helpers/mailbox';
import { settled, waitForStatus } from '../helpers/orders';
import {
  FAST_POLLING,
  FAST_POLLING_BOUNDS,
  type Pipeline,
  startPipeline,
  uniqueOrderId,
  uniqueRecipient,
} from '../helpers/pipeline';
import { problemOf } from '../helpers/problems';
import { sandboxOrder } from '../helpers/sandbox';

const CALLER = 'checkout';
const SECRET = randomBytes(32).toString('hex');
const OTHER_SECRET = randomBytes(32).toString('hex');
const REQUEST_KEY = randomBytes(32).toString('hex');

let p: Pipeline;
let vault: VaultSession;
let decryptor: RunningDecryptor;
let issuer: AppIssuer;
let baseUrl: string;
const apps: FastifyInstance[] = [];
const logLines: string[] = [];
const emails: string[] = [];
const captureLogger = createLogger(
  { level: 'debug', name: 'intake-test' },
  { write: (l) => logLines.push(l) },
);

async function startApp(
  rateLimitPerMinute = 10_000,
  resend: Parameters<typeof buildApp>[0]['resendLink'] = (orderId, request) =>
    resendLink(p.client, p.db, orderId, request),
): Promise<FastifyInstance> {
  const cfg = config();
  const app = await buildApp({
    db: p.db,
    decryptor: decryptor.client,
    logger: captureLogger,
    publicBaseUrl: cfg.PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 10_000,
    // Counters of their own: each app's limits start empty, whatever other tests spent.
    limitScope: `test-${randomUUID()}`,
    inApp: {
      jwt: issuer.settings,
      revealKeyTtlMs: 60_000,
      rateLimitPerMinute: 10_000,
    },
    intake: {
      clients: `${CALLER}:${SECRET},partner:${OTHER_SECRET}`,
      windowMs: 5 * 60_000,
      rateLimitPerMinute,
      policyDefaults: defaultPolicy(cfg),
      pollBounds: FAST_POLLING_BOUNDS,
      requestKey: REQUEST_KEY,
    },
    startOrder: (input) => startOrder(p.client, input, p.taskQueue),
    resendLink: resend,
  });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  p = await startPipeline();
  vault = await connectVault('api');
  decryptor = await startDecryptor();
  issuer = await startAppIssuer();
  const app = await startApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const app of apps) await app.close();
  vault?.close();
  await decryptor?.close();
  await issuer?.close();
  await p?.stop();
});

const now = () => String(Math.floor(Date.now() / 1000));

function orderRequest(overrides: Record<string, unknown> = {}) {
  const email = uniqueRecipient();
  emails.push(email);
  return {
    orderId: uniqueOrderId('instant'),
    userId: `user-${randomUUID().slice(0, 8)}`,
    email,
    policy: FAST_POLLING,
    ...overrides,
  };
}

interface Signed {
  body: string;
  headers: Record<string, string>;
}

function sign(body: string, opts: { caller?: string; secret?: string; timestamp?: string } = {}): Signed {
  const timestamp = opts.timestamp ?? now();
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-intake-client': opts.caller ?? CALLER,
      'x-intake-timestamp': timestamp,
      'x-intake-signature': signIntakeRequest(opts.secret ?? SECRET, timestamp, body),
    },
  };
}

const send = (req: Signed) =>
  fetch(`${baseUrl}/v1/fulfillments`, { method: 'POST', headers: req.headers, body: req.body });

describe('POST /v1/fulfillments', () => {
  it('starts the order from a signed request; the order is delivered and its owner sees the cards in the app', async () => {
    const order = orderRequest();
    // As a caller would: the typed client generated from the OpenAPI document, signing each request.
    const intake = intakeClient(baseUrl, { name: CALLER, secret: SECRET });
    const { data: started, response: res } = await intake.POST('/v1/fulfillments', { body: order });
    expect(res.status).toBe(202);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(started).toEqual({ workflowId: workflowIdFor(order.orderId), existing: false });
    if (!started) throw new Error('not started');

    const description = await p.client.workflow.getHandle(started.workflowId).describe();
    expect(description.taskQueue).toBe(p.taskQueue);
    expect(description.type).toBe('giftCardOrder');
    const status = await waitForStatus(p.client, order.orderId, settled);
    expect(status).toMatchObject({ outcome: 'DELIVERED', phase: 'delivered' });
    const followed = await intake.GET('/v1/fulfillments/{orderId}', {
      params: { path: { orderId: order.orderId } },
    });
    expect(followed.response.status).toBe(200);
    expect(followed.data).toMatchObject({ orderId: order.orderId, outcome: 'DELIVERED', phase: 'delivered' });

    const { rows } = await p.db.query('SELECT user_id FROM orders WHERE order_id = $1', [order.orderId]);
    expect(rows).toEqual([{ user_id: order.userId }]);

    // The owner sees them in the app, through a reveal key.
    const cards = await revealInApp(baseUrl, order.orderId, await issuer.sign(order.userId));
    expect(cards.status).toBe(200);
    const provider = await sandboxOrder(order.orderId);
    expect(((await cards.json()) as { cards: unknown[] }).cards).toEqual(
      provider.cards.map((c) => ({ value: c.value, serial: c.serial })),
    );
  });

  it('refuses the same request replayed (409), and answers a re-signed one for the same order with 200 existing', async () => {
    const order = orderRequest();
    const body = JSON.stringify(order);
    const first = sign(body);
    expect((await send(first)).status).toBe(202);

    const replay = await send(first);
    expect(replay.status).toBe(409);
    expect(await replay.json()).toEqual(problemOf(409));

    // Same signature with the hex in upper case is the same signature.
    const shouted = { ...first, headers: { ...first.headers } };
    shouted.headers['x-intake-signature'] =
      `v2=${first.headers['x-intake-signature']!.slice(3).toUpperCase()}`;
    expect((await send(shouted)).status).toBe(409);

    const resigned = await send(
      sign(body, { timestamp: String(Number(first.headers['x-intake-timestamp']) + 1) }),
    );
    expect(resigned.status).toBe(200);
    expect(await resigned.json()).toEqual({ workflowId: workflowIdFor(order.orderId), existing: true });

    // Only hashes are kept in the replay log.
    const signature = Buffer.from(first.headers['x-intake-signature']!.slice(3), 'hex');
    const { rows } = await p.db.query('SELECT caller FROM intake_signatures WHERE signature_hash = $1', [
      createHash('sha256').update(signature).digest(),
    ]);
    expect(rows).toEqual([{ caller: CALLER }]);
  });

  it('purges replay-log rows older than the window as requests come in', async () => {
    const app = await startApp();
    const old = createHash('sha256').update(randomBytes(32)).digest();
    const recent = createHash('sha256').update(randomBytes(32)).digest();
    await p.db.query(
      `INSERT INTO intake_signatures (signature_hash, caller, signed_at)
       VALUES ($1, 'checkout', now() - interval '1 hour'), ($2, 'checkout', now() - interval '1 minute')`,
      [old, recent],
    );
    const req = sign(JSON.stringify(orderRequest()));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/fulfillments',
      headers: req.headers,
      payload: req.body,
    });
    expect(res.statusCode).toBe(202);
    const { rows } = await p.db.query(
      'SELECT signature_hash FROM intake_signatures WHERE signature_hash = ANY($1::bytea[])',
      [[old, recent]],
    );
    expect(rows.map((r) => Buffer.from(r.signature_hash).equals(recent))).toEqual([true]);
  });

  it('of two identical requests in flight, one starts the order and the other is a replay', async () => {
    const req = sign(JSON.stringify(orderRequest()));
    const results = await Promise.all([send(req), send(req)]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
  });

  it('accepts every listed caller with its own secret only', async () => {
    const order = orderRequest();
    const res = await send(sign(JSON.stringify(order), { caller: 'partner', secret: OTHER_SECRET }));
    expect(res.status).toBe(202);
    const crossed = await send(sign(JSON.stringify(orderRequest()), { caller: 'partner', secret: SECRET }));
    expect(crossed.status).toBe(401);
  });

  it('answers forged, unknown, stale and unsigned requests alike with 401', async () => {
    const body = JSON.stringify(orderRequest());
    const good = sign(body);
    const old = String(Math.floor(Date.now() / 1000) - 10 * 60);
    const future = String(Math.floor(Date.now() / 1000) + 10 * 60);
    const cases: Array<[string, Signed]> = [
      ['bad signature', { body, headers: { ...good.headers, 'x-intake-signature': `v2=${'0'.repeat(64)}` } }],
      ['wrong secret', sign(body, { secret: randomBytes(32).toString('hex') })],
      ['unknown caller', sign(body, { caller: 'intruder' })],
      ['stale timestamp', sign(body, { timestamp: old })],
      ['future timestamp', sign(body, { timestamp: future })],
      ['signature of another body', { body: body.replace('"user-', '"usr-'), headers: good.headers }],
      [
        'signature for another timestamp',
        {
          body,
          headers: {
            ...good.headers,
            'x-intake-timestamp': String(Number(good.headers['x-intake-timestamp']) - 1),
          },
        },
      ],
      ['no signature', { body, headers: { ...good.headers, 'x-intake-signature': '' } }],
      [
        'other scheme',
        {
          body,
          headers: {
            ...good.headers,
            'x-intake-signature': good.headers['x-intake-signature']!.replace('v2=', 'v0='),
          },
        },
      ],
      ['no headers', { body, headers: { 'content-type': 'application/json' } }],
      [
        // Unlabelled: the input the old webhook signature shared (INTAKE_ACCEPT_V1_SIGNATURES is off).
        'the deprecated v1 form',
        {
          body,
          headers: {
            ...good.headers,
            'x-intake-signature': signIntakeRequest(SECRET, good.headers['x-intake-timestamp']!, body, 'v1'),
          },
        },
      ],
    ];
    const answers = new Set<string>();
    for (const [why, req] of cases) {
      const res = await send(req);
      expect(res.status, why).toBe(401);
      expect(res.headers.get('www-authenticate'), why).toBe('HMAC-SHA256 realm="intake"');
      answers.add(await res.text());
    }
    expect([...answers]).toEqual(['{"type":"about:blank","title":"Unauthorized","status":401}']);
  });

  it('answers an oversized body with 413 and a wrong content type with 415', async () => {
    const big = JSON.stringify({ ...orderRequest(), padding: 'x'.repeat(70 * 1024) });
    const tooLarge = await send(sign(big));
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toEqual(problemOf(413));

    const body = JSON.stringify(orderRequest());
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'application/json-seq',
    ]) {
      const req = sign(body);
      const res = await send({ body, headers: { ...req.headers, 'content-type': type } });
      expect(res.status, type).toBe(415);
      expect(await res.json()).toEqual(problemOf(415));
    }
    const charset = sign(JSON.stringify(orderRequest()));
    const utf8 = await send({
      ...charset,
      headers: { ...charset.headers, 'content-type': 'application/json; charset=utf-8' },
    });
    expect(utf8.status).toBe(202);
  });

  it('answers an invalid order with 400 naming the fields, never echoing a value', async () => {
    const email = `not-an-address-${randomUUID()}`;
    emails.push(email);
    const res = await send(sign(JSON.stringify(orderRequest({ email, orderId: 'bad id!' }))));
    expect(res.status).toBe(400);
    const text = await res.text();
    // Problem details (RFC 9457): the fields by name, and what is wrong by the schema's own word.
    expect(JSON.parse(text)).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      errors: [
        { name: 'orderId', reason: 'invalid_format' },
        { name: 'email', reason: 'invalid_format' },
      ],
    });
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(text).not.toContain(email);
    expect(text).not.toContain('bad id!');

    const policy = await send(
      sign(JSON.stringify(orderRequest({ policy: { linkTtl: 'forever', evil: true } }))),
    );
    expect(policy.status).toBe(400);
    expect(await policy.json()).toEqual(problemOf(400, ['policy.linkTtl', 'policy']));

    for (const body of ['{"orderId":', '', 'null', '[]']) {
      const broken = await send(sign(body));
      expect(broken.status, body).toBe(400);
    }
  });

  it("limits each caller's verified requests and each address, with Retry-After", async () => {
    const app = await startApp(2);
    const inject = (req: Signed, remoteAddress: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/fulfillments',
        headers: req.headers,
        payload: req.body,
        remoteAddress,
      });
    // Invalid orders (400) pass the signature check: they spend the caller's budget and start nothing.
    const invalid = () => sign(JSON.stringify({ orderId: 'x' }));
    expect((await inject(invalid(), '10.9.0.1')).statusCode).toBe(400);
    expect((await inject(invalid(), '10.9.0.2')).statusCode).toBe(400);
    const perCaller = await inject(invalid(), '10.9.0.3');
    expect(perCaller.statusCode).toBe(429);
    expect(Number(perCaller.headers['retry-after'])).toBeGreaterThan(0);
    // Another caller has its own budget.
    expect(
      (await inject(sign('{}', { caller: 'partner', secret: OTHER_SECRET }), '10.9.0.4')).statusCode,
    ).toBe(400);

    // An address that only sends forgeries runs out too.
    for (let i = 0; i < 2; i++)
      expect((await inject(sign('{}', { caller: 'intruder' }), '10.9.1.1')).statusCode).toBe(401);
    expect((await inject(sign('{}', { caller: 'intruder' }), '10.9.1.1')).statusCode).toBe(429);
  });
});

describe('an order id belongs to its first caller and request', () => {
  it('the same request again is 200 with the same workflow; another caller or any other field is a 409 that says no more', async () => {
    const order = orderRequest();
    const body = JSON.stringify(order);
    expect((await send(sign(body))).status).toBe(202);
    // The same request, its fields in another order and signed anew: idempotent.
    const { policy, email, userId, orderId } = order;
    const again = await send(sign(JSON.stringify({ policy, email, userId, orderId })));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ workflowId: workflowIdFor(orderId), existing: true });

    const otherEmail = uniqueRecipient();
    emails.push(otherEmail);
    const attempts: Array<[string, Signed]> = [
      ['another caller, same request', sign(body, { caller: 'partner', secret: OTHER_SECRET })],
      ['same caller, another email', sign(JSON.stringify({ ...order, email: otherEmail }))],
      ['same caller, another user', sign(JSON.stringify({ ...order, userId: 'user-someone-else' }))],
      [
        'same caller, another policy',
        sign(JSON.stringify({ ...order, policy: { ...policy, linkTtl: '1h' } })),
      ],
    ];
    const answers = new Set<string>();
    for (const [why, req] of attempts) {
      const res = await send(req);
      expect(res.status, why).toBe(409);
      answers.add(await res.text());
    }
    // Exactly what a replayed signature gets: nothing says which field differs, or whose the order is.
    expect([...answers]).toEqual(['{"type":"about:blank","title":"Conflict","status":409}']);

    // The order goes on as first asked, to its first address only.
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status).toMatchObject({ outcome: 'DELIVERED' });
    expect(await waitForMail(email)).toHaveLength(1);
    expect(await mailFor(otherEmail)).toEqual([]);
    const { rows } = await p.db.query(
      'SELECT caller, request_hash FROM intake_requests WHERE order_id = $1',
      [orderId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].caller).toBe(CALLER);
    // A keyed fingerprint: without the API's key, a guessed address cannot be checked against it.
    expect(Buffer.from(rows[0].request_hash)).toEqual(orderRequestDigest(order, REQUEST_KEY));
    expect(Buffer.from(rows[0].request_hash)).not.toEqual(
      createHash('sha256')
        .update(canonicalJson(orderRequestSchema.parse(order)))
        .digest(),
    );
  });

  it('of two callers racing for a new order id, one starts it and the other gets 409', async () => {
    const body = JSON.stringify(orderRequest());
    const results = await Promise.all([
      send(sign(body)),
      send(sign(body, { caller: 'partner', secret: OTHER_SECRET })),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
  });

  it('an order id someone else started (the order CLI) is not handed to an intake caller', async () => {
    const order = orderRequest();
    await p.start({ orderId: order.orderId, userId: order.userId, email: order.email });
    await waitForStatus(p.client, order.orderId, settled);
    const res = await send(sign(JSON.stringify(order)));
    expect(res.status).toBe(409);
    const { rows } = await p.db.query('SELECT 1 FROM intake_requests WHERE order_id = $1', [order.orderId]);
    expect(rows).toEqual([]);
  });
});

describe("a caller's recipient correction that cannot be carried out", () => {
  it('answers 503 when Temporal cannot be reached, and the same signed request may come again', async () => {
    let unreachable = true;
    const app = await startApp(10_000, (orderId, request) => {
      if (!unreachable) return resendLink(p.client, p.db, orderId, request);
      unreachable = false;
      return Promise.reject(new Error('14 UNAVAILABLE: No connection established'));
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const order = orderRequest();
    expect((await send(sign(JSON.stringify(order)))).status).toBe(202);
    await waitForStatus(p.client, order.orderId, settled);

    const corrected = uniqueRecipient();
    const correction = sign(JSON.stringify({ orderId: order.orderId, email: corrected }));
    const post = () =>
      fetch(`${url}/v1/fulfillments/${order.orderId}/recipient`, {
        method: 'POST',
        headers: correction.headers,
        body: correction.body,
      });
    expect((await post()).status).toBe(503);
    expect(await mailFor(corrected)).toEqual([]);
    // Not a replay: nothing was carried out the first time. The order itself answers this time: its
    // email reached the customer (MailDev refuses nothing), so there is no refused recipient to correct
    // (DESIGN 3.13; test/stack/recipient-correction.test.ts has corrections that are taken).
    const carried = await post();
    expect(carried.status).toBe(409);
    expect(await carried.json()).toEqual(
      problemOf(
        409,
        undefined,
        "the order's recipient was not refused: only a recipient the mail server refused can be corrected",
      ),
    );
    // And now it is one: refused before it reaches the order.
    const replayed = await post();
    expect(replayed.status).toBe(409);
    expect(await replayed.json()).toEqual(problemOf(409));
    expect(await mailFor(corrected)).toEqual([]);
  });
});

describe('logs', () => {
  // Runs last in this file.
  it('contain no email address and no intake secret', () => {
    expect(logLines.length).toBeGreaterThan(10);
    const output = logLines.join('');
    expect(output).toContain('intake: order started');
    expect(emails.filter((e) => output.includes(e))).toEqual([]);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain(OTHER_SECRET);
  });
});
