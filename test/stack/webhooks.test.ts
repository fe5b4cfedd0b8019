/**
 * Events for the upstream caller, on the real stack with a real receiver: the receiver verifies every
 * request with the reference Standard Webhooks library (npm `standardwebhooks`), sees each event of an
 * order once per id and in sequence; during a secret's rotation every event carries both signatures and a
 * receiver with either secret verifies it; a caller with a signing key also gets v1a (Ed25519)
 * signatures that verify with the published public key; a caller subscribed to some types gets only those; an endpoint
 * that resolves to an internal address gets nothing (refused and audited before any connection); a
 * webhook's signature opens no intake request, even under the caller's own intake secret; a receiver
 * that is down gets the events when it comes back while the order itself never waited; 410 stops them;
 * a receiver that keeps failing gets each event marked undeliverable after its maximum age, and an
 * operator can replay it. The signed status API answers the order's own caller only.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import type { FulfillmentStatus } from '../../api/intake/status';
import { purgeNowSignal, type WebhookEvent, workflowIdFor } from '../../contracts/order';
import { verifyAsymmetric } from '../../docs/webhooks/verify-signature';
import { defaultPolicy, startOrder } from '../../domain/orders';
import { signatureHeader, standardWebhookSecret, webhookPublicKey } from '../../domain/signing';
import { config, repoRoot } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { connectVault, type VaultSession } from '../../lib/vault';
import { auditRows } from '../helpers/audit';
import { type RunningDecryptor, startDecryptor } from '../helpers/decryptor';
import { linkIn, waitForMail } from '../helpers/mailbox';
import { operatorToken } from '../helpers/operators';
import { waitForStatus } from '../helpers/orders';
import {
  FAST_POLLING,
  FAST_POLLING_BOUNDS,
  type Pipeline,
  startPipeline,
  uniqueOrderId,
  uniqueRecipient,
} from '../helpers/pipeline';
import {
  newWebhookSecret,
  type Receiver,
  startReceiver,
  verifiesWithStandardWebhooks,
} from '../helpers/webhook-receiver';
import { compileWebhookSchema } from '../helpers/webhook-schema';

const INTAKE_SECRET = randomBytes(32).toString('hex');
const PARTNER_SECRET = randomBytes(32).toString('hex');
const validate = compileWebhookSchema();

let p: Pipeline;
let vault: VaultSession;
let decryptor: RunningDecryptor;
let app: FastifyInstance;
let baseUrl: string;
/** One endpoint per behaviour, so that tests running side by side do not share a receiver's answer. */
const NAMES = [
  'main',
  'outage',
  'gone',
  'failing',
  'rotating',
  'picky',
  'internal',
  'legacy',
  'signed',
] as const;
/** The signed caller's Ed25519 signing key (v1a); it verifies with the public key. */
const SIGNING_KEY = `whsk_${randomBytes(32).toString('base64')}`;
const receivers: Record<(typeof NAMES)[number], Receiver> = {} as never;
/** The rotating caller's old secret (its receiver is configured with the new one). */
const OLD_SECRET = newWebhookSecret();
/** Only these types for the picky caller. */
const PICKY_TYPES = ['link.sent', 'order.purged'] as const;

beforeAll(async () => {
  // The legacy caller's webhook secret is the old form, and the very secret it signs intake with.
  for (const name of NAMES)
    receivers[name] = await startReceiver(name === 'legacy' ? PARTNER_SECRET : undefined);
  const { rotating, picky, internal } = receivers;
  p = await startPipeline({
    webhookEndpoints: new Map([
      ...Object.entries(receivers).map(([caller, r]) => [caller, r.endpoint()] as const),
      ['rotating', rotating.endpoint({ secrets: [rotating.secret, OLD_SECRET] })],
      ['picky', picky.endpoint({ events: PICKY_TYPES })],
      ['signed', receivers.signed.endpoint({ signingKeys: [SIGNING_KEY] })],
      // As production configures every endpoint: no internal address allowed.
      ['internal', { url: internal.url, secrets: [internal.secret] }],
    ]),
  });
  vault = await connectVault('api');
  decryptor = await startDecryptor();
  const cfg = config();
  app = await buildApp({
    db: p.db,
    decryptor: decryptor.client,
    logger: createLogger({ level: 'warn', name: 'webhooks-test' }),
    publicBaseUrl: cfg.PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 10_000,
    limitScope: `test-${randomUUID()}`,
    intake: {
      clients: `main:${INTAKE_SECRET},partner:${PARTNER_SECRET}`,
      windowMs: 5 * 60_000,
      rateLimitPerMinute: 10_000,
      policyDefaults: defaultPolicy(cfg),
      pollBounds: FAST_POLLING_BOUNDS,
      requestKey: randomBytes(32).toString('hex'),
    },
    startOrder: (input) => startOrder(p.client, input, p.taskQueue),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  vault?.close();
  await decryptor?.close();
  await p?.stop();
  for (const r of Object.values(receivers)) await r?.stop();
});

function signedHeaders(caller: string, secret: string, payload: string) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    'x-intake-client': caller,
    'x-intake-timestamp': timestamp,
    'x-intake-signature': signatureHeader(secret, timestamp, payload),
  };
}

async function intake(order: object): Promise<Response> {
  const body = JSON.stringify(order);
  return fetch(`${baseUrl}/v1/fulfillments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedHeaders('main', INTAKE_SECRET, body) },
    body,
  });
}

async function status(orderId: string, caller = 'main', secret = INTAKE_SECRET): Promise<Response> {
  const path = `/v1/fulfillments/${encodeURIComponent(orderId)}`;
  return fetch(`${baseUrl}${path}`, { headers: signedHeaders(caller, secret, `GET ${path}`) });
}

async function eventsOf(
  receiver: Receiver,
  orderId: string,
  count: number,
  timeoutMs = 60_000,
): Promise<WebhookEvent[]> {
  await expect
    .poll(() => receiver.acknowledged(orderId).length, { timeout: timeoutMs, interval: 100 })
    .toBeGreaterThanOrEqual(count);
  return receiver.acknowledged(orderId);
}

const rowsOf = async (orderId: string) =>
  (
    await p.db.query<{
      event_id: string;
      sequence: number;
      state: string;
      attempts: number;
      last_status: number | null;
    }>(
      'SELECT event_id, sequence, state, attempts, last_status FROM webhook_events WHERE order_id = $1 ORDER BY sequence',
      [orderId],
    )
  ).rows;

describe('an order started through intake', () => {
  it('tells its caller every step, signed, once per id, in sequence, as the schema says; the status API agrees', async () => {
    const orderId = uniqueOrderId('instant');
    const email = uniqueRecipient();
    expect((await intake({ orderId, userId: 'u-1', email, policy: FAST_POLLING })).status).toBe(202);
    await waitForStatus(p.client, orderId, (s) => s.phase === 'delivered');

    const delivered = (await (await status(orderId)).json()) as FulfillmentStatus;
    expect(delivered).toMatchObject({
      orderId,
      phase: 'delivered',
      outcome: 'DELIVERED',
      deliveredCards: 3,
      storedCards: 3,
    });
    expect(delivered.deliveries).toEqual([
      expect.objectContaining({ id: `${orderId}#1`, kind: 'batch', cardCount: 3, state: 'active' }),
    ]);

    // The customer opens the link and reveals; then an operator purges.
    const link = linkIn((await waitForMail(email))[0]!);
    expect(
      (await fetch(`${link.replace(/^https?:\/\/[^/]+/, p.apiUrl)}/reveal`, { method: 'POST' })).status,
    ).toBe(200);
    await waitForStatus(p.client, orderId, (s) => s.deliveries[0]?.retrieved === true);
    await p.client.workflow.getHandle(workflowIdFor(orderId)).signal(purgeNowSignal);
    await p.client.workflow.getHandle(workflowIdFor(orderId)).result();

    const events = await eventsOf(receivers.main, orderId, 5);
    const seen = receivers.main.requests.filter((r) => r.event.orderId === orderId);
    console.log(
      `an order's event stream as the receiver saw it (each verified by standardwebhooks):\n${seen
        .map(
          (r) =>
            `  ${r.answered} verified=${r.verified} ${r.headers['webhook-id']} #${r.event.sequence} ${r.event.type} ${JSON.stringify(r.event.data)}`,
        )
        .join('\n')}\nthe first one's headers: ${JSON.stringify(
        Object.fromEntries(
          Object.entries(seen[0]!.headers).filter(([k]) => k.startsWith('webhook-') || k === 'content-type'),
        ),
      )}`,
    );
    expect(events.map((e) => e.type)).toEqual([
      'order.accepted',
      'link.sent',
      'order.delivered',
      'link.retrieved',
      'order.purged',
    ]);
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    const requests = receivers.main.requests.filter((r) => r.event.orderId === orderId);
    expect(requests).toHaveLength(5); // once per id: nothing was sent twice
    for (const r of requests) {
      expect(r.verified).toBe(true);
      expect(r.headers['webhook-id']).toBe(r.event.id);
      expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      // A whsec_ endpoint gets the Standard Webhooks headers only; the id is signed: another id fails.
      expect(r.headers['x-webhook-signature']).toBeUndefined();
      expect(
        verifiesWithStandardWebhooks(receivers.main.secret, r.rawBody, {
          ...r.headers,
          'webhook-id': `evt_${randomUUID()}`,
        }),
      ).toBe(false);
      expect({ event: r.event.type, errors: validate(r.event) ? null : validate.errors }).toEqual({
        event: r.event.type,
        errors: null,
      });
      // No secret of the order in a body or a header: no email, no token, no link.
      const wire = `${JSON.stringify(r.headers)}${r.rawBody}`;
      expect(wire).not.toContain(email);
      expect(wire).not.toContain(link.slice(link.lastIndexOf('/') + 1));
    }
    expect((await rowsOf(orderId)).map((r) => r.state)).toEqual(Array(5).fill('delivered'));

    const purged = (await (await status(orderId)).json()) as FulfillmentStatus;
    expect(purged).toMatchObject({
      phase: 'purged',
      storedCards: 0,
      events: { lastSequence: 5, delivered: 5, undeliverable: [] },
    });
    expect(purged.deliveries[0]?.state).toBe('purged');
    expect(JSON.stringify(purged)).not.toContain(email);
  });

  it('the status API answers only the caller that created the order, and only a signature for that path', async () => {
    const orderId = uniqueOrderId('instant');
    expect(
      (await intake({ orderId, userId: 'u-2', email: uniqueRecipient(), policy: FAST_POLLING })).status,
    ).toBe(202);
    await waitForStatus(p.client, orderId, (s) => s.phase === 'delivered');
    expect((await status(orderId)).status).toBe(200);
    expect((await status(orderId, 'partner', PARTNER_SECRET)).status).toBe(404);
    expect((await status(`no-such-${randomUUID()}`)).status).toBe(404);
    expect((await status(orderId, 'main', PARTNER_SECRET)).status).toBe(401);
    // A signature made for another order's path does not open this one.
    const other = `/v1/fulfillments/${uniqueOrderId('instant')}`;
    const res = await fetch(`${baseUrl}/v1/fulfillments/${orderId}`, {
      headers: signedHeaders('main', INTAKE_SECRET, `GET ${other}`),
    });
    expect(res.status).toBe(401);
    expect((await fetch(`${baseUrl}/v1/fulfillments/${orderId}`)).status).toBe(401);
  });
});

describe('delivery of events', () => {
  it('a receiver down for a while gets every event when it is back; the order never waited for it', async () => {
    const receiver = receivers.outage;
    await receiver.stop();
    const orderId = uniqueOrderId('instant');
    const t0 = Date.now();
    await p.start(
      { orderId, userId: 'u-3', email: uniqueRecipient(), policy: { retention: '2s' } },
      { caller: 'outage' },
    );
    const delivered = await waitForStatus(p.client, orderId, (s) => s.phase === 'purged');
    const orderDone = Date.now() - t0;
    expect(delivered.webhooks.delivered).toBe(0);
    await new Promise((r) => setTimeout(r, 4_000));
    const back = Date.now();
    await receiver.start();
    const events = await eventsOf(receiver, orderId, 4);
    const arrived = Date.now();
    expect(events.map((e) => e.type)).toEqual([
      'order.accepted',
      'link.sent',
      'order.delivered',
      'order.purged',
    ]);
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
    const rows = await rowsOf(orderId);
    expect(rows[0]!.attempts).toBeGreaterThan(2);
    console.log(
      `receiver outage: order purged ${orderDone} ms after start with 0 events acknowledged; receiver down ` +
        `${back - t0} ms; all 4 events acknowledged ${arrived - back} ms after it came back; attempts per event: ` +
        rows.map((r) => r.attempts).join(', '),
    );
    await p.client.workflow.getHandle(workflowIdFor(orderId)).result();
  });

  it('a receiver that answers 410 gets nothing more for that order', async () => {
    receivers.gone.status = 410;
    const orderId = uniqueOrderId('instant');
    await p.start(
      { orderId, userId: 'u-4', email: uniqueRecipient(), policy: { retention: '1s' } },
      { caller: 'gone' },
    );
    const final = (await p.client.workflow.getHandle(workflowIdFor(orderId)).result()) as {
      webhooks: { stopped: string | null; lastSequence: number };
    };
    expect(final.webhooks.stopped).toBe('gone');
    expect(receivers.gone.requests.filter((r) => r.event.orderId === orderId)).toHaveLength(1);
    expect((await rowsOf(orderId)).map((r) => r.state)).toEqual(['gone']);
    expect((await auditRows(p.db, orderId)).map((r) => r.event)).toContain('WEBHOOK_GONE');
  });

  it('a receiver that keeps failing: each event is marked undeliverable after its maximum age; an operator replays one', async () => {
    const receiver = receivers.failing;
    receiver.status = 503;
    const orderId = uniqueOrderId('instant');
    await p.start(
      { orderId, userId: 'u-5', email: uniqueRecipient(), policy: { retention: '1s', webhookMaxAge: '3s' } },
      { caller: 'failing' },
    );
    const final = (await p.client.workflow.getHandle(workflowIdFor(orderId)).result()) as {
      webhooks: { undeliverable: string[] };
    };
    const rows = await rowsOf(orderId);
    expect(rows.map((r) => r.state)).toEqual(Array(4).fill('undeliverable'));
    expect(final.webhooks.undeliverable).toEqual(rows.map((r) => r.event_id));
    expect(rows.every((r) => r.last_status === 503 && r.attempts >= 1)).toBe(true);
    expect((await auditRows(p.db, orderId)).filter((r) => r.event === 'WEBHOOK_UNDELIVERABLE')).toHaveLength(
      4,
    );

    // The operator's replay, through the real CLI, once the receiver works again.
    receiver.status = 200;
    const replayed = rows[1]!.event_id;
    // A support operator, by name, through this API's ops listener (it sends with this test's endpoints).
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'scripts/ops.ts', 'webhooks', '--order-id', orderId, '--replay', replayed],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          OPS_API_URL: p.internalUrl,
          OPERATOR_TOKEN: await operatorToken('sam'),
          LOG_FILE: '',
        },
      },
    );
    expect(stdout).toContain(`Re-sent ${replayed}: the endpoint answered HTTP 200.`);
    expect(stdout).toMatch(/#2 +link\.sent +delivered/);
    const got = receiver.acknowledged(orderId);
    expect(got.map((e) => e.id)).toEqual([replayed]);
    expect(got[0]?.sequence).toBe(2);
    expect((await rowsOf(orderId))[1]?.state).toBe('delivered');
    expect((await auditRows(p.db, orderId)).map((r) => r.event)).toContain('WEBHOOK_REPLAYED');
  });

  it('while a secret rotates, every event carries both signatures: a receiver with either secret verifies it', async () => {
    const receiver = receivers.rotating;
    const orderId = uniqueOrderId('instant');
    await p.start(
      { orderId, userId: 'u-7', email: uniqueRecipient(), policy: { retention: '1s' } },
      { caller: 'rotating' },
    );
    await p.client.workflow.getHandle(workflowIdFor(orderId)).result();
    await eventsOf(receiver, orderId, 4);
    const requests = receiver.requests.filter((r) => r.event.orderId === orderId);
    expect(requests).toHaveLength(4);
    for (const r of requests) {
      expect(r.verified).toBe(true); // the receiver has the new secret
      expect(verifiesWithStandardWebhooks(OLD_SECRET, r.rawBody, r.headers)).toBe(true); // and one still on the old
      expect(String(r.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verifiesWithStandardWebhooks(newWebhookSecret(), r.rawBody, r.headers)).toBe(false);
    }
    console.log(`rotation: webhook-signature: ${requests[0]!.headers['webhook-signature']}`);
  });

  it('a caller with a signing key gets v1a signatures too: each event verifies with the published public key', async () => {
    const receiver = receivers.signed;
    const orderId = uniqueOrderId('instant');
    await p.start(
      { orderId, userId: 'u-12', email: uniqueRecipient(), policy: { retention: '1s' } },
      { caller: 'signed' },
    );
    await p.client.workflow.getHandle(workflowIdFor(orderId)).result();
    await eventsOf(receiver, orderId, 4);
    const requests = receiver.requests.filter((r) => r.event.orderId === orderId);
    const publicKey = webhookPublicKey(SIGNING_KEY);
    for (const r of requests) {
      expect(r.verified).toBe(true); // v1, by standardwebhooks
      expect(verifyAsymmetric({ publicKey, headers: r.headers, rawBody: r.rawBody })).toBe(true);
      expect(
        verifyAsymmetric({
          publicKey: webhookPublicKey(`whsk_${randomBytes(32).toString('base64')}`),
          headers: r.headers,
          rawBody: r.rawBody,
        }),
      ).toBe(false);
    }
    console.log(
      `v1a: public key ${publicKey}; webhook-signature: ${requests[0]!.headers['webhook-signature']}`,
    );
  });

  it('a caller subscribed to some event types gets only those (the sequence keeps its numbers)', async () => {
    const orderId = uniqueOrderId('instant');
    await p.start(
      { orderId, userId: 'u-8', email: uniqueRecipient(), policy: { retention: '1s' } },
      { caller: 'picky' },
    );
    const final = (await p.client.workflow.getHandle(workflowIdFor(orderId)).result()) as {
      webhooks: { stopped: string | null; lastSequence: number; delivered: number };
    };
    const got = await eventsOf(receivers.picky, orderId, 2);
    expect(got.map((e) => [e.type, e.sequence])).toEqual([
      ['link.sent', 2],
      ['order.purged', 4],
    ]);
    expect(receivers.picky.requests.filter((r) => r.event.orderId === orderId)).toHaveLength(2);
    expect(final.webhooks).toMatchObject({ stopped: null, lastSequence: 4, delivered: 2 });
    expect((await rowsOf(orderId)).map((r) => [r.sequence, r.state])).toEqual([
      [2, 'delivered'],
      [4, 'delivered'],
    ]);
  });

  it('an endpoint on an internal address (127.0.0.1, not allowed) gets nothing: each send refused before connecting, audited', async () => {
    const receiver = receivers.internal;
    const orderId = uniqueOrderId('instant');
    await p.start(
      { orderId, userId: 'u-9', email: uniqueRecipient(), policy: { retention: '1s' } },
      { caller: 'internal' },
    );
    const final = (await p.client.workflow.getHandle(workflowIdFor(orderId)).result()) as {
      webhooks: { undeliverable: string[] };
    };
    const rows = await rowsOf(orderId);
    expect(rows.map((r) => [r.state, r.attempts, r.last_status])).toEqual(
      Array(4).fill(['undeliverable', 1, null]),
    );
    expect(final.webhooks.undeliverable).toEqual(rows.map((r) => r.event_id));
    const refusals = (await auditRows(p.db, orderId)).filter((r) => r.event === 'WEBHOOK_ADDRESS_REFUSED');
    expect(refusals).toHaveLength(4);
    expect(refusals[0]?.detail).toMatchObject({ caller: 'internal', addressClass: 'loopback' });
    // The receiver was listening all along, and nothing arrived.
    expect(receiver.requests).toEqual([]);
  });

  it("an old-form secret: the Standard Webhooks headers verify with its whsec_ form, the deprecated headers still come; neither opens intake, though it is the caller's intake secret too", async () => {
    const receiver = receivers.legacy;
    const orderId = uniqueOrderId('instant');
    await p.start(
      { orderId, userId: 'u-10', email: uniqueRecipient(), policy: { retention: '1s' } },
      { caller: 'legacy' },
    );
    await p.client.workflow.getHandle(workflowIdFor(orderId)).result();
    await eventsOf(receiver, orderId, 4);
    const requests = receiver.requests.filter((r) => r.event.orderId === orderId);
    expect(requests.every((r) => r.verified)).toBe(true);
    for (const r of requests) {
      expect(r.headers['x-webhook-id']).toBe(r.event.id);
      expect(r.headers['x-webhook-signature']).toBe(
        signatureHeader(PARTNER_SECRET, String(r.headers['x-webhook-timestamp']), r.rawBody, 'v1'),
      );
    }
    expect(standardWebhookSecret(PARTNER_SECRET)).toBe(
      `whsec_${Buffer.from(PARTNER_SECRET).toString('base64')}`,
    );

    // The attack: the caller 'partner' signs intake with PARTNER_SECRET and verifies webhooks with it too.
    // Whoever holds one of its webhooks presents the signature to intake, as partner, over the same bytes.
    const r = requests[0]!;
    const ts = String(r.headers['webhook-timestamp']);
    const standard = Buffer.from(String(r.headers['webhook-signature']).slice(3), 'base64').toString('hex');
    const legacyHex = String(r.headers['x-webhook-signature']).slice(3);
    const attempts: Array<[string, string]> = [
      [r.rawBody, String(r.headers['x-webhook-signature'])], // the old webhook signature is an old intake one
      [r.rawBody, `v2=${legacyHex}`],
      [r.rawBody, `v2=${standard}`],
      [`${r.event.id}.${ts}.${r.rawBody}`, `v2=${standard}`],
    ];
    for (const [body, signature] of attempts) {
      const res = await fetch(`${baseUrl}/v1/fulfillments`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-intake-client': 'partner',
          'x-intake-timestamp': ts,
          'x-intake-signature': signature,
        },
        body,
      });
      expect({ signature: signature.slice(0, 8), status: res.status }).toEqual({
        signature: signature.slice(0, 8),
        status: 401,
      });
    }
    // And the other way: partner's intake signature is no webhook from us to it.
    const order = JSON.stringify({
      orderId: uniqueOrderId('instant'),
      userId: 'u-11',
      email: uniqueRecipient(),
    });
    const now = String(Math.floor(Date.now() / 1000));
    const intakeSig = Buffer.from(signatureHeader(PARTNER_SECRET, now, order).slice(3), 'hex');
    for (const id of [now, 'giftcards-intake', `evt_${randomUUID()}`])
      expect(
        verifiesWithStandardWebhooks(PARTNER_SECRET, order, {
          'webhook-id': id,
          'webhook-timestamp': now,
          'webhook-signature': `v1,${intakeSig.toString('base64')}`,
        }),
      ).toBe(false);
  });

  it('an order started without a caller (CLI) sends nothing', async () => {
    const orderId = uniqueOrderId('instant');
    await p.start({ orderId, userId: 'u-6', email: uniqueRecipient(), policy: { retention: '1s' } });
    const final = (await p.client.workflow.getHandle(workflowIdFor(orderId)).result()) as {
      webhooks: { lastSequence: number };
    };
    expect(final.webhooks.lastSequence).toBe(0);
    expect(await rowsOf(orderId)).toEqual([]);
  });
});
