/**
 * The leak hunt. Orders of every scenario run with cards that are unique canary strings and unique
 * recipient addresses; then every sink is searched for any canary, any recipient address and any delivery
 * token: the Temporal server's own store (read without the SDK or the codec), a full dump of PostgreSQL
 * (the audit log included), every log line of the workers and the API, every captured email, every HTTP
 * response other than the holder's reveal/download, every webhook body and header the orders' caller
 * received, and every error message. It must find nothing, and
 * it first proves that it would: a canary planted in each sink is found there.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resendLinkUpdate, statusQuery, workflowIdFor } from '../../contracts/order';
import { createMailer } from '../../domain/mail/mailer';
import { deliveryMail } from '../../domain/mail/templates';
import { config, databaseUrl } from '../../lib/config';
import { createPool } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { connectionOptions, temporalTarget } from '../../lib/temporal';
import { requestResend } from '../../store/deliveries';
import { linkIn, mailFor } from '../helpers/mailbox';
import { settled, waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId } from '../helpers/pipeline';
import { registerScenario } from '../helpers/sandbox';
import { emails, findIn, logFiles, postgresDump, type Sink, scanTemporalStore } from '../helpers/sinks';
import { type Receiver, startReceiver } from '../helpers/webhook-receiver';

const canary = (kind: string) => `canary${kind}${randomUUID().replace(/-/g, '')}`;

interface Needles {
  cards: string[];
  recipients: string[];
  tokens: string[];
}

let p: Pipeline;
let receiver: Receiver;
const needles: Needles = { cards: [], recipients: [], tokens: [] };
/** HTTP answers that are not the holder's reveal/download: they may show nothing secret. */
const responses: Sink[] = [];
/** Every error message and failure reason the run produced. */
const errors: Sink[] = [];

async function runOrder(scenario: string, policy: Record<string, unknown> = {}, quantity = 3) {
  const orderId = uniqueOrderId(scenario);
  const cards = Array.from({ length: quantity }, () => ({ value: canary('v'), serial: canary('s') }));
  needles.cards.push(...cards.flatMap((c) => [c.value, c.serial]));
  const email = `${canary('r')}@example.test`;
  needles.recipients.push(email);
  await registerScenario(orderId, scenario, { cards, quantity, retryAfterSeconds: 1, failures: 2 });
  await p.start({ orderId, userId: 'canary-user', email, policy }, { caller: 'canary' });
  const status = await waitForStatus(p.client, orderId, settled, 60_000);
  errors.push({ name: `status ${scenario}`, text: JSON.stringify(status) });
  return { orderId, email, status };
}

async function record(name: string, res: Response) {
  responses.push({ name, text: `${res.status} ${JSON.stringify([...res.headers])}\n${await res.text()}` });
}

/** Every request the orders' caller received: its headers and raw body. */
const webhookSink = (): Sink => ({
  name: 'webhooks',
  text: receiver.requests.map((r) => `${JSON.stringify(r.headers)}\n${r.rawBody}`).join('\n'),
});

beforeAll(async () => {
  receiver = await startReceiver();
  p = await startPipeline({
    webhookEndpoints: new Map([['canary', receiver.endpoint()]]),
  });
  // Every scenario: deliveries, partial fills, failures, provider errors, timeouts.
  const orders = await Promise.all([
    runOrder('instant'),
    runOrder('partial-then-full', { deliverPartial: true }, 4),
    runOrder('partial-then-failed', {}, 4),
    runOrder('partial-forever', { deadline: '3s' }, 4),
    runOrder('never', { deadline: '2s' }),
    runOrder('failed'),
    runOrder('cancelled'),
    runOrder('flaky'),
    runOrder('rate-limited'),
    runOrder('malformed'),
    runOrder('unknown-status'),
    runOrder('not-found'),
    runOrder('unauthorized'),
  ]);
  // The customer side: landing pages, reveals (not searched: the holder's), reuse, a resend.
  for (const { orderId, email } of orders) {
    for (const mail of await mailFor(email)) {
      if (!/\/d\//.test(mail.text)) continue;
      const link = linkIn(mail);
      needles.tokens.push(link.slice(link.lastIndexOf('/') + 1));
      await record(`landing ${orderId}`, await fetch(link));
      await fetch(`${link}/reveal`, { method: 'POST' }); // the holder's answer: allowed to show cards
      await record(`reuse ${orderId}`, await fetch(`${link}/reveal`, { method: 'POST' }));
      await record(`used landing ${orderId}`, await fetch(link));
    }
  }
  const [first] = orders;
  const handle = p.client.workflow.getHandle(workflowIdFor(first!.orderId));
  // An operator's resend, asked for as the ops API asks (a request by name, the API's own database role).
  const api = createPool(databaseUrl('api'), 1);
  await requestResend(api, {
    orderId: first!.orderId,
    requestedBy: 'operator:canary',
    kind: 'redeliver',
  }).finally(() => api.end());
  await handle.executeUpdate(resendLinkUpdate, { args: [{ requestedBy: 'operator:canary' }] });
  errors.push({ name: 'status after resend', text: JSON.stringify(await handle.query(statusQuery)) });
  await record('unknown token', await fetch(`${p.apiUrl}/d/${'A'.repeat(43)}`));
  try {
    await p.start({ orderId: '../../etc', userId: 'u', email: needles.recipients[0]! });
  } catch (err) {
    errors.push({ name: 'invalid order', text: String(err) });
  }
  const resent = await mailFor(first!.email);
  for (const m of resent) if (/\/d\//.test(m.text)) needles.tokens.push(linkIn(m).split('/').pop()!);
}, 180_000);

afterAll(async () => {
  await p?.stop();
  await receiver?.stop();
});

function all(n: Needles): string[] {
  return [...n.cards, ...n.recipients, ...n.tokens];
}

describe('the leak hunt can find a planted canary in every sink', () => {
  const planted = canary('planted');

  it('Temporal store, PostgreSQL, logs, emails, responses and errors', async () => {
    // Temporal: a workflow started by a client without the codec carries the canary in clear.
    const connection = await Connection.connect(connectionOptions(temporalTarget()));
    const plain = new Client({ connection });
    const wf = await plain.workflow.start('plantedCanary', {
      taskQueue: `planted-${randomUUID()}`,
      workflowId: `planted-${randomUUID()}`,
      args: [{ note: planted }],
    });
    await wf.terminate('planted canary: no worker');
    await connection.close();
    // PostgreSQL: an audit row; logs: one line; email: one message.
    await p.db.query(`INSERT INTO audit_log (event, actor, detail) VALUES ('SWEEP', 'canary-test', $1)`, [
      JSON.stringify({ planted }),
    ]);
    const log = createLogger({ name: 'planted' });
    log.info(`planted ${planted}`);
    log.flush();
    const mailer = createMailer({
      smtpUrl: config().SMTP_URL!,
      from: 'test@giftcards.local',
      requireTls: false,
    });
    await mailer.send(
      `${canary('r')}@example.test`,
      deliveryMail({ orderRef: planted, cardCount: 1, link: 'http://x', expiresAt: new Date() }),
    );
    mailer.close();

    const store = await scanTemporalStore([planted]);
    expect(store.found[planted]?.length).toBeGreaterThan(0);
    expect(findIn(await postgresDump(), [planted])).toEqual([planted]);
    expect(logFiles().some((s) => findIn(s, [planted]).length > 0)).toBe(true);
    await expect.poll(async () => (await emails()).some((s) => findIn(s, [planted]).length > 0)).toBe(true);
    expect(findIn({ name: 'response', text: `<p>${planted}</p>` }, [planted])).toEqual([planted]);
    await fetch(receiver.url, { method: 'POST', headers: { 'x-planted': planted }, body: '{}' });
    expect(findIn(webhookSink(), [planted])).toEqual([planted]);
  });
});

describe('no canary, recipient address or delivery token anywhere it does not belong', () => {
  it('collected the needles the run produced', () => {
    expect(needles.cards.length).toBeGreaterThanOrEqual(2 * 30);
    expect(needles.recipients).toHaveLength(13);
    expect(needles.tokens.length).toBeGreaterThanOrEqual(8);
  });

  it('the Temporal server store (raw history, visibility, tasks) holds none', async () => {
    const { scannedBytes, found } = await scanTemporalStore(all(needles));
    expect(scannedBytes).toBeGreaterThan(0);
    expect(found).toEqual({});
  });

  it('a full PostgreSQL dump (every table, the audit log too) holds none', async () => {
    const dump = await postgresDump();
    expect(dump.text).toContain('CREATE TABLE public.audit_log');
    expect(findIn(dump, all(needles))).toEqual([]);
  });

  it('no log line of the workers, activities, API or Temporal SDK holds one', () => {
    const logs = logFiles();
    expect(logs.reduce((n, s) => n + s.text.length, 0)).toBeGreaterThan(0);
    for (const sink of logs)
      expect({ sink: sink.name, found: findIn(sink, all(needles)) }).toEqual({ sink: sink.name, found: [] });
  });

  it('emails hold links, never a card or the address in the text', async () => {
    const mails = await emails();
    for (const sink of mails) {
      expect({ sink: sink.name, found: findIn(sink, [...needles.cards, ...needles.recipients]) }).toEqual({
        sink: sink.name,
        found: [],
      });
    }
  });

  it('webhook bodies and headers the caller received hold none', async () => {
    // Every order told its caller something (at least order.accepted); most are purged or waiting.
    await expect
      .poll(() => new Set(receiver.requests.filter((r) => r.verified).map((r) => r.event.orderId)).size, {
        timeout: 30_000,
      })
      .toBe(13);
    expect(receiver.requests.every((r) => r.verified || r.headers['x-planted'])).toBe(true);
    expect(findIn(webhookSink(), all(needles))).toEqual([]);
  });

  it('HTTP answers other than the holder reveal, and every error message, hold none', () => {
    expect(responses.length).toBeGreaterThan(10);
    for (const sink of responses) {
      // A landing page links to its own reveal form: its token is the holder's.
      const forbidden = sink.name.startsWith('landing')
        ? [...needles.cards, ...needles.recipients]
        : all(needles);
      expect({ sink: sink.name, found: findIn(sink, forbidden) }).toEqual({ sink: sink.name, found: [] });
    }
    for (const sink of errors) {
      expect({ sink: sink.name, found: findIn(sink, all(needles)) }).toEqual({ sink: sink.name, found: [] });
    }
  });
});
