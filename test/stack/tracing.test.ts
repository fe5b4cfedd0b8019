/**
 * Tracing on the real stack: with OTEL_EXPORTER_OTLP_ENDPOINT pointed at a collector (an OTLP/HTTP receiver
 * in this file), a signed intake request opens a server span whose trace the order keeps all the way:
 * the client's StartWorkflow, the workflow's RunWorkflow and StartActivity spans (exported through the
 * worker's sink), and each activity's RunActivity span. The log lines of that order carry the same trace id.
 * Nothing the order handles in secret reaches a collector: the exported bytes hold no card code or serial,
 * no recipient address, no delivery token and no configured secret, although the delivery link (whose path
 * is the token) and the reveal (whose answer is the codes) were both requested while traced.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../contracts/order';
import { signatureHeader } from '../../domain/signing';
import { config, databaseUrl } from '../../lib/config';
import { startTracing, type Tracing } from '../../lib/tracing';
import { linkIn, waitForMail } from '../helpers/mailbox';
import { waitForStatus } from '../helpers/orders';
import { type Collector, type ExportedSpan, startCollector } from '../helpers/otlp-collector';
import {
  FAST_POLLING,
  type Pipeline,
  startPipeline,
  uniqueOrderId,
  uniqueRecipient,
} from '../helpers/pipeline';
import { sandboxOrder } from '../helpers/sandbox';
import { logFiles } from '../helpers/sinks';
import { newWebhookSecret, type Receiver, startReceiver } from '../helpers/webhook-receiver';

const CALLER = 'tracing';
const INTAKE_SECRET = randomBytes(32).toString('hex');
const WEBHOOK_SECRET = newWebhookSecret();

let collector: Collector;
let tracing: Tracing;
let webhooks: Receiver;
let p: Pipeline;

beforeAll(async () => {
  collector = await startCollector();
  // As an entry point does with OTEL_EXPORTER_OTLP_ENDPOINT set: before any client, worker or app is built.
  tracing = await startTracing({ endpoint: collector.url, serviceName: 'giftcards-test' });
  webhooks = await startReceiver(WEBHOOK_SECRET);
  p = await startPipeline({
    intakeClients: `${CALLER}:${INTAKE_SECRET}`,
    webhookEndpoints: new Map([[CALLER, webhooks.endpoint()]]),
  });
});

afterAll(async () => {
  await p?.stop();
  await tracing?.shutdown();
  await webhooks?.stop();
  await collector?.stop();
});

/** Every secret of the configuration this process runs with, and of the test's own callers. */
function configuredSecrets(): string[] {
  const cfg = config();
  const intakeSecrets = (cfg.INTAKE_CLIENTS ?? '').split(',').map((c) => c.slice(c.indexOf(':') + 1));
  const vaultSecretIds = Object.entries(process.env)
    .filter(([k]) => /VAULT_(SECRET_ID|TOKEN)$/.test(k))
    .map(([, v]) => v);
  return [
    cfg.PROVIDER_API_KEY,
    ...(['worker', 'api', 'retention', 'cli', 'decryptor'] as const).map((c) =>
      decodeURIComponent(new URL(databaseUrl(c, cfg)).password),
    ),
    ...intakeSecrets,
    ...vaultSecretIds,
    INTAKE_SECRET,
    WEBHOOK_SECRET,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 8);
}

describe('tracing an order from its intake request to its activities', () => {
  it('one trace from the intake request through the workflow to its activities, in its logs, with no secret in any span', async () => {
    const orderId = uniqueOrderId('instant');
    const email = uniqueRecipient();
    const workflowId = workflowIdFor(orderId);
    // purgeOnRetrieval: the reveal ends the order, so its RunWorkflow span ends and is exported too.
    const body = JSON.stringify({
      orderId,
      userId: 'user-traced',
      email,
      policy: { ...FAST_POLLING, purgeOnRetrieval: true },
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = signatureHeader(INTAKE_SECRET, timestamp, body);
    const res = await fetch(`${p.apiUrl}/v1/fulfillments`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-intake-client': CALLER,
        'x-intake-timestamp': timestamp,
        'x-intake-signature': signature,
      },
      body,
    });
    expect(res.status).toBe(202);

    await waitForStatus(p.client, orderId, (s) => s.outcome === 'DELIVERED');
    const [mail] = await waitForMail(email);
    const link = linkIn(mail!);
    const token = link.slice(link.lastIndexOf('/') + 1);
    // The link's path is its token; the reveal's answer is the codes. Both requests are traced.
    expect((await fetch(link)).status).toBe(200);
    const reveal = await fetch(`${link}/reveal`, { method: 'POST', redirect: 'manual' });
    expect(reveal.status).toBe(200);
    const cards = (await sandboxOrder(orderId)).cards;
    expect(cards.length).toBeGreaterThan(0);
    const revealed = await reveal.text();
    for (const card of cards) expect(revealed).toContain(card.value);
    await waitForStatus(p.client, orderId, (s) => s.phase === 'purged');

    // Spans are batched: flush until the workflow's own span (it ends last) has arrived.
    const ofOrder = (s: ExportedSpan) =>
      s.attributes.temporalWorkflowId === workflowId || s.attributes.workflowId === workflowId;
    const spans = await collector.waitFor(
      () => tracing.forceFlush(),
      (all) => all.some((s) => s.name === 'RunWorkflow:giftCardOrder' && ofOrder(s)),
    );
    expect(collector.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);

    // The intake request's server span (kind 2 = SERVER), named by its route.
    const intake = spans.find((s) => s.name === 'POST /v1/fulfillments' && s.kind === 2);
    expect(intake, `spans: ${spans.map((s) => s.name)}`).toBeDefined();
    const traceId = intake!.traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const named = (name: string) => spans.filter((s) => s.name === name && ofOrder(s));
    const startWorkflow = named('StartWorkflow:giftCardOrder');
    expect(startWorkflow).toHaveLength(1);
    for (const name of [
      'StartWorkflow:giftCardOrder',
      'RunWorkflow:giftCardOrder',
      'StartActivity:collect',
      'RunActivity:collect',
      'RunActivity:purgeOrder',
      'RunActivity:sendWebhook',
    ]) {
      const found = named(name);
      expect(found.length, `${name} spans of the order`).toBeGreaterThan(0);
      for (const span of found) expect(span.traceId, name).toBe(traceId);
    }
    // StartWorkflow descends from the intake request's span (through its handler span).
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (s: ExportedSpan) => {
      const chain: string[] = [];
      for (
        let at = s.parentSpanId && byId.get(s.parentSpanId);
        at;
        at = at.parentSpanId && byId.get(at.parentSpanId)
      )
        chain.push(at.spanId);
      return chain;
    };
    expect(ancestors(startWorkflow[0]!)).toContain(intake!.spanId);
    // ...and the activities from the workflow's run, which descends from StartWorkflow.
    const run = named('RunWorkflow:giftCardOrder')[0]!;
    expect(run.parentSpanId).toBe(startWorkflow[0]!.spanId);
    for (const span of named('RunActivity:collect')) expect(ancestors(span)).toContain(run.spanId);
    // The API and the worker each exported under the service name they were started with.
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['giftcards-test']));

    // The order's log lines carry its trace id: the API's intake, the activities, the worker's own lines
    // about them. The customer's requests (the link, the reveal) are traces of their own, in their lines.
    const customerTraces = new Set(spans.filter((s) => s.name.includes('/d/:token')).map((s) => s.traceId));
    expect(customerTraces.size).toBe(2);
    expect(customerTraces.has(traceId)).toBe(false);
    const lines = logFiles()
      .flatMap((f) => f.text.split('\n'))
      // JSON lines are the pipeline's (PostgreSQL's own log names the order too, in a constraint's detail).
      .filter((l) => l.startsWith('{') && l.includes(orderId))
      .map((l) => JSON.parse(l) as { name: string; msg: string; trace_id?: string })
      // The provider's own log (the sandbox stands in for another company's service).
      .filter((l) => l.name !== 'provider-sandbox');
    const inOrderTrace = lines.filter((l) => l.trace_id === traceId).map((l) => l.msg);
    expect(inOrderTrace).toEqual(
      expect.arrayContaining(['intake: order started', 'cards stored', 'delivery link sent']),
    );
    const inCustomerTraces = lines.filter((l) => customerTraces.has(l.trace_id ?? '')).map((l) => l.msg);
    expect(inCustomerTraces).toEqual(expect.arrayContaining(['link viewed', 'cards retrieved']));
    expect(lines.length).toBe(inOrderTrace.length + inCustomerTraces.length);

    // Nothing secret in what the collector received: every byte of every export, spans of the link and the
    // reveal included, searched for the codes, serials, the recipient, the token and every configured secret.
    const linkSpan = spans.find((s) => s.name === 'GET /d/:token');
    expect(linkSpan?.attributes['url.path']).toBe('/d/:token');
    expect(spans.some((s) => s.name === 'POST /d/:token/reveal')).toBe(true);
    const needles = [
      ...cards.flatMap((c) => [c.value, c.serial]),
      email,
      email.split('@')[0]!,
      token,
      signature,
      ...configuredSecrets(),
    ];
    const exported = collector.bodies.join('\n');
    for (const needle of needles)
      expect(exported.includes(needle), 'a secret in an exported span').toBe(false);
  });
});
