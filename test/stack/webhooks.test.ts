/**
 * Events for the upstream caller, on the real stack with a real receiver: the receiver verifies every
 * request with the documented code, sees each event of an order once per id and in sequence; a receiver
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
import { defaultPolicy, startOrder } from '../../domain/orders';
import { signatureHeader } from '../../domain/signing';
import { config, repoRoot } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { connectVault, type VaultSession } from '../../lib/vault';
import { auditRows } from '../helpers/audit';
import { linkIn, waitForMail } from '../helpers/mailbox';
import { waitForStatus } from '../helpers/orders';
import {
  FAST_POLLING,
  type Pipeline,
  startPipeline,
  uniqueOrderId,
  uniqueRecipient,
} from '../helpers/pipeline';
import { type Receiver, startReceiver } from '../helpers/webhook-receiver';
import { compileWebhookSchema } from '../helpers/webhook-schema';

const INTAKE_SECRET = randomBytes(32).toString('hex');
const PARTNER_SECRET = randomBytes(32).toString('hex');
const validate = compileWebhookSchema();

let p: Pipeline;
let vault: VaultSession;
let app: FastifyInstance;
let baseUrl: string;
/** One endpoint per behaviour, so that tests running side by side do not share a receiver's answer. */
const receivers: Record<'main' | 'outage' | 'gone' | 'failing', Receiver> = {} as never;

beforeAll(async () => {
  for (const name of ['main', 'outage', 'gone', 'failing'] as const)
    receivers[name] = await startReceiver(randomBytes(32).toString('hex'));
  p = await startPipeline({
    webhookEndpoints: new Map(
      Object.entries(receivers).map(([caller, r]) => [caller, { url: r.url, secret: r.secret }]),
    ),
  });
  vault = await connectVault('api');
  const cfg = config();
  app = await buildApp({
    db: p.db,
    transit: vault.transit,
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
    console.log(
      `an order's event stream as the receiver saw it:\n${receivers.main.requests
        .filter((r) => r.event.orderId === orderId)
        .map(
          (r) =>
            `  ${r.answered} ${r.headers['x-webhook-id']} #${r.event.sequence} ${r.event.type} ${JSON.stringify(r.event.data)}`,
        )
        .join('\n')}`,
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
      expect(r.headers['x-webhook-id']).toBe(r.event.id);
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
    const endpoints = JSON.stringify({ failing: { url: receiver.url, secret: receiver.secret } });
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'scripts/ops.ts', 'webhooks', '--order-id', orderId, '--replay', replayed],
      { cwd: repoRoot, env: { ...process.env, WEBHOOK_ENDPOINTS: endpoints, LOG_FILE: '' } },
    );
    expect(stdout).toContain(`Re-sent ${replayed}: the endpoint answered HTTP 200.`);
    expect(stdout).toMatch(/#2 +link\.sent +delivered/);
    const got = receiver.acknowledged(orderId);
    expect(got.map((e) => e.id)).toEqual([replayed]);
    expect(got[0]?.sequence).toBe(2);
    expect((await rowsOf(orderId))[1]?.state).toBe('delivered');
    expect((await auditRows(p.db, orderId)).map((r) => r.event)).toContain('WEBHOOK_REPLAYED');
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
