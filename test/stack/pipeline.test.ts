/**
 * The pipeline end to end on the real stack: provider sandbox → worker (Temporal dev server, Vault,
 * PostgreSQL) → email (MailDev) → delivery API. Each test is one order with its own sandbox scenario.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cancelSignal,
  checkNowSignal,
  extendRetentionSignal,
  purgeNowSignal,
  resendLinkUpdate,
  workflowIdFor,
} from '../../contracts/order';
import { databaseUrl } from '../../lib/config';
import { createPool } from '../../lib/db';
import { requestResend } from '../../store/deliveries';
import { linkIn, waitForMail } from '../helpers/mailbox';
import { settled, waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';
import { registerScenario, sandboxOrder } from '../helpers/sandbox';

const CODE = /[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}/;

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await p?.stop();
});

async function reveal(link: string) {
  const res = await fetch(`${link}/reveal`, { method: 'POST', redirect: 'manual' });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

async function order(scenario: string, policy = {}, options: Record<string, unknown> = {}) {
  const orderId = uniqueOrderId(scenario);
  const email = uniqueRecipient();
  if (Object.keys(options).length) await registerScenario(orderId, scenario, options);
  const started = await p.start({ orderId, userId: 'user-1', email, policy });
  return { orderId, email, started };
}

describe('fulfillment pipeline', () => {
  it('happy path: one email with a link and no code, GET does not consume, reveal once, DB holds ciphertext', async () => {
    const { orderId, email } = await order('instant');
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status).toMatchObject({
      outcome: 'DELIVERED',
      phase: 'delivered',
      storedCards: 3,
      deliveredCards: 3,
    });
    // The poll that found the order complete sent its link and recorded the outcome: one step and two
    // workflow tasks to the end, no search-attribute upsert before the second (they came with the start).
    const history = (await p.client.workflow.getHandle(workflowIdFor(orderId)).fetchHistory()).events ?? [];
    const steps = history.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(steps).toEqual(['collect']);
    expect(history.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(2);
    expect(history.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toHaveLength(1);
    expect(history.length).toBeLessThanOrEqual(13);

    const [mail] = await waitForMail(email);
    const provider = await sandboxOrder(orderId);
    for (const card of provider.cards) {
      expect(mail!.text).not.toContain(card.value);
      expect(mail!.html).not.toContain(card.value);
      expect(mail!.text).not.toContain(card.serial);
    }
    expect(mail!.text).not.toMatch(CODE);
    expect(mail!.text).toContain(orderId);
    const link = linkIn(mail!);

    for (let i = 0; i < 2; i++) expect((await fetch(link)).status).toBe(200);
    const first = await reveal(link);
    expect(first.status).toBe(200);
    for (const card of provider.cards) {
      expect(first.body).toContain(card.value);
      expect(first.body).toContain(card.serial);
    }
    expect(first.headers.get('cache-control')).toContain('no-store');
    expect((await reveal(link)).status).toBe(410);

    const { rows } = await p.db.query('SELECT value_ct, serial_ct FROM cards WHERE order_id = $1', [orderId]);
    expect(rows).toHaveLength(3);
    const dump = JSON.stringify(rows);
    for (const card of provider.cards) {
      expect(dump).not.toContain(card.value);
      expect(dump).not.toContain(card.serial);
    }
    for (const r of rows) expect(r.value_ct).toMatch(/^vault:v\d+:/);
    const events = await p.db.query('SELECT event FROM audit_log WHERE order_id = $1 ORDER BY id', [orderId]);
    expect(events.rows.map((r) => r.event)).toEqual(
      expect.arrayContaining(['ORDER_STARTED', 'CARDS_STORED', 'DELIVERED', 'LINK_VIEWED', 'REVEALED']),
    );
  });

  it('partial then full with deliverPartial: two links, the union is what the provider sent, no duplicates', async () => {
    const { orderId, email } = await order('partial-then-full', { deliverPartial: true }, { quantity: 5 });
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status).toMatchObject({ outcome: 'DELIVERED', storedCards: 5, deliveredCards: 5 });
    expect(status.deliveries.map((d) => d.cardCount)).toEqual([3, 2]);

    const mails = await waitForMail(email, 2);
    const revealed = [];
    for (const m of mails) revealed.push((await reveal(linkIn(m))).body);
    const provider = await sandboxOrder(orderId);
    expect(provider.polls).toBeGreaterThanOrEqual(3); // the partial answer was repeated once
    for (const card of provider.cards) {
      expect(revealed.filter((body) => body.includes(card.value))).toHaveLength(1);
    }
    const { rows } = await p.db.query('SELECT count(*)::int AS n FROM cards WHERE order_id = $1', [orderId]);
    expect(rows[0].n).toBe(5);
  });

  it('without deliverPartial a partially filled order gets one link when FULFILLED', async () => {
    const { orderId, email } = await order('partial-then-full', {}, { quantity: 4 });
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status.deliveries.map((d) => d.cardCount)).toEqual([4]);
    expect(await waitForMail(email, 1)).toHaveLength(1);
  });

  it('partial then deadline: delivers what is there and ends partially delivered', async () => {
    const { orderId, email } = await order('partial-forever', { deadline: '4s' }, { quantity: 4 });
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status).toMatchObject({ outcome: 'PARTIALLY_DELIVERED', storedCards: 2, deliveredCards: 2 });
    const mails = await waitForMail(email, 2);
    expect(mails.filter((m) => /\/d\//.test(m.text))).toHaveLength(1);
    expect(mails.some((m) => m.text.includes('could not be completed in time'))).toBe(true);
  });

  it('never fulfilled: fails at the deadline and notifies the customer without a link', async () => {
    const { orderId, email } = await order('never', { deadline: '6s' });
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status).toMatchObject({ outcome: 'FAILED', phase: 'failed', storedCards: 0 });
    expect(status.failureReason).toMatch(/deadline/);
    const [mail] = await waitForMail(email);
    expect(mail!.text).not.toMatch(/\/d\//);
    const { rows } = await p.db.query('SELECT outcome, failure_reason FROM orders WHERE order_id = $1', [
      orderId,
    ]);
    expect(rows[0]).toMatchObject({ outcome: 'FAILED' });
    // The waiting happened in the activity's retry backoff: many polls, few history events.
    const history = await p.client.workflow.getHandle(workflowIdFor(orderId)).fetchHistory();
    expect((await sandboxOrder(orderId)).polls).toBeGreaterThanOrEqual(4);
    expect(history.events?.length).toBeLessThan(40);
  });

  it.each([
    ['failed', 'FAILED', 'could not complete'],
    ['cancelled', 'CANCELLED', 'was cancelled'],
  ])('provider %s: the order ends %s with a notice and no code', async (scenario, outcome, words) => {
    const { orderId, email } = await order(scenario);
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status.outcome).toBe(outcome);
    const [mail] = await waitForMail(email);
    expect(mail!.text).toContain(words);
    expect(mail!.text).not.toMatch(CODE);
  });

  it('flaky 5xx answers are retried until the order is fulfilled', async () => {
    const { orderId } = await order('flaky', {}, { failures: 3 });
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status.outcome).toBe('DELIVERED');
    expect((await sandboxOrder(orderId)).polls).toBeGreaterThanOrEqual(4);
  });

  it('429 Retry-After is honoured before polling again', async () => {
    const t0 = Date.now();
    const { orderId } = await order('rate-limited', {}, { retryAfterSeconds: 3 });
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status.outcome).toBe('DELIVERED');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
  });

  it.each([
    ['not-found', 'ProviderOrderNotFound'],
    ['unauthorized', 'ProviderAuthRejected'],
  ])('%s fails fast with a reason', async (scenario, type) => {
    const t0 = Date.now();
    const { orderId } = await order(scenario);
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status).toMatchObject({ outcome: 'FAILED', storedCards: 0 });
    expect(status.failureReason).toContain(type);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect((await sandboxOrder(orderId)).polls).toBe(1);
  });

  it('a malformed body ends the order with a contract error that does not echo the body', async () => {
    const { orderId } = await order('malformed');
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status.outcome).toBe('FAILED');
    expect(status.failureReason).toContain('ProviderContractViolation');
    expect(status.failureReason).not.toMatch(CODE);
    const history = await p.client.workflow.getHandle(workflowIdFor(orderId)).fetchHistory();
    expect(JSON.stringify(history)).not.toMatch(CODE);
  });

  it('starting the same order twice returns the existing workflow', async () => {
    const { orderId, email, started } = await order('instant');
    expect(started.existing).toBe(false);
    const again = await p.start({ orderId, userId: 'user-1', email });
    expect(again).toMatchObject({ existing: true, workflowId: started.workflowId, runId: started.runId });
    await waitForStatus(p.client, orderId, settled);
    const third = await p.start({ orderId, userId: 'user-1', email });
    expect(third.existing).toBe(true);
    expect(await waitForMail(email, 1)).toHaveLength(1);
  });

  it('invalid input is refused before anything starts', async () => {
    await expect(p.start({ orderId: '../etc', userId: 'u', email: uniqueRecipient() })).rejects.toThrow(
      /order id/,
    );
    await expect(
      p.start({ orderId: uniqueOrderId('instant'), userId: 'u', email: 'not-an-email' }),
    ).rejects.toThrow(/email/);
  });

  it('an unused link expires after its TTL', async () => {
    const { orderId, email } = await order('instant', { linkTtl: '4s' });
    const [mail] = await waitForMail(email);
    const link = linkIn(mail!);
    expect((await fetch(link)).status).toBe(200);
    await waitForStatus(p.client, orderId, (s) => s.deliveries[0]?.expired === true, 20_000);
    expect((await fetch(link)).status).toBe(410);
    expect((await reveal(link)).status).toBe(410);
    const { rows } = await p.db.query(
      `SELECT count FROM audit_log WHERE order_id = $1 AND event = 'EXPIRED'`,
      [orderId],
    );
    expect(rows).toEqual([{ count: 1 }]);
    const history = await p.client.workflow.getHandle(workflowIdFor(orderId)).fetchHistory();
    const expiries = history.events?.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'expireDelivery',
    );
    expect(expiries).toHaveLength(1);
  });

  it('resendLink revokes the old link and sends a new one that works, only on a recorded request', async () => {
    const { orderId, email } = await order('instant');
    const [first] = await waitForMail(email);
    await waitForStatus(p.client, orderId, settled);
    const handle = p.client.workflow.getHandle(workflowIdFor(orderId));
    // Nobody asked (a hand-made update, the UI's button): the database mints no link, nothing is sent.
    await expect(handle.executeUpdate(resendLinkUpdate, { args: [{}] })).rejects.toMatchObject({
      cause: { cause: { type: 'LinkRefused' } },
    });
    expect(await waitForMail(email, 1)).toHaveLength(1);
    // An operator's request, as the ops API records it (in the API process), with the API's own role.
    const api = createPool(databaseUrl('api'), 1);
    try {
      await requestResend(api, { orderId, requestedBy: 'operator:pipeline-test', kind: 'redeliver' });
    } finally {
      await api.end();
    }
    const result = await handle.executeUpdate(resendLinkUpdate, {
      args: [{ requestedBy: 'operator:pipeline-test' }],
    });
    expect(result.cardCount).toBe(3);
    const mails = await waitForMail(email, 2);
    const second = mails.find((m) => m.id !== first!.id)!;
    expect((await reveal(linkIn(first!))).status).toBe(410);
    const revealed = await reveal(linkIn(second));
    expect(revealed.status).toBe(200);
    for (const card of (await sandboxOrder(orderId)).cards) expect(revealed.body).toContain(card.value);
  });

  it('checkNow polls at once instead of waiting out the backoff', async () => {
    // An hour between polls: without the signal the order would still be waiting when the test ends.
    const { orderId } = await order(
      'slow',
      { pollInitialInterval: '1h', pollMaxInterval: '1h' },
      { processingPolls: 1 },
    );
    await expect.poll(async () => (await sandboxOrder(orderId)).polls, { timeout: 10_000 }).toBe(1);
    await p.client.workflow.getHandle(workflowIdFor(orderId)).signal(checkNowSignal);
    const status = await waitForStatus(p.client, orderId, settled, 15_000);
    expect(status.outcome).toBe('DELIVERED');
    expect((await sandboxOrder(orderId)).polls).toBe(2);
  });

  it('cancel stops a waiting order, notifies the customer and purges what was stored', async () => {
    const { orderId, email } = await order('partial-forever', {
      pollInitialInterval: '1h',
      pollMaxInterval: '1h',
    });
    await waitForStatus(p.client, orderId, (s) => s.storedCards > 0);
    await p.client.workflow
      .getHandle(workflowIdFor(orderId))
      .signal(cancelSignal, { reason: 'customer asked' });
    const status = await waitForStatus(p.client, orderId, (s) => s.phase === 'purged');
    expect(status).toMatchObject({
      outcome: 'CANCELLED',
      deliveredCards: 0,
      failureReason: 'customer asked',
    });
    const [mail] = await waitForMail(email);
    expect(mail!.text).toContain('was cancelled');
    const { rows } = await p.db.query('SELECT count(*)::int AS n FROM cards WHERE order_id = $1', [orderId]);
    expect(rows[0].n).toBe(0);
  });

  it('a long history continues as new and keeps the order state', async () => {
    const { orderId } = await order('partial-forever', { pollInitialInterval: '1h', pollMaxInterval: '1h' });
    const handle = p.client.workflow.getHandle(workflowIdFor(orderId));
    await waitForStatus(p.client, orderId, (s) => s.storedCards === 2);
    const { runId: firstRun } = await handle.describe();
    // Every checkNow is progress the history records (a cancelled wait and a new poll).
    let runId = firstRun;
    for (let i = 0; i < 3000 && runId === firstRun; i++) {
      await handle.signal(checkNowSignal);
      if (i % 50 === 49) runId = (await handle.describe()).runId;
    }
    expect(runId).not.toBe(firstRun);
    const status = await waitForStatus(p.client, orderId, (s) => s.storedCards === 2);
    expect(status).toMatchObject({ phase: 'collecting', providerStatus: 'PARTIALLY_FILLED', quantity: 3 });
    await handle.signal(cancelSignal, { reason: 'test over' });
    await waitForStatus(p.client, orderId, (s) => s.phase === 'purged');
  });

  it('a cancellation of the workflow itself (the UI button) ends the order like the cancel signal', async () => {
    const { orderId } = await order('partial-forever', { pollInitialInterval: '1h', pollMaxInterval: '1h' });
    await waitForStatus(p.client, orderId, (s) => s.storedCards > 0);
    const handle = p.client.workflow.getHandle(workflowIdFor(orderId));
    await handle.cancel();
    const result = await handle.result();
    expect(result).toMatchObject({ phase: 'purged', outcome: 'CANCELLED', deliveredCards: 0 });
    const { rows } = await p.db.query('SELECT count(*)::int AS n FROM cards WHERE order_id = $1', [orderId]);
    expect(rows[0].n).toBe(0);
  });

  it('cards issued before the provider failed the order are still delivered, with a notice', async () => {
    const { orderId, email } = await order('partial-then-failed', {}, { quantity: 4 });
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status).toMatchObject({
      outcome: 'PARTIALLY_DELIVERED',
      deliveredCards: 2,
      providerStatus: 'FAILED',
    });
    const mails = await waitForMail(email, 2);
    expect(mails.filter((m) => /\/d\//.test(m.text))).toHaveLength(1);
    expect(mails.some((m) => m.text.includes('2 of 4 cards were delivered'))).toBe(true);
  });

  it('a malformed extendRetention signal is ignored and the order goes on', async () => {
    const { orderId } = await order('instant');
    await waitForStatus(p.client, orderId, settled);
    const handle = p.client.workflow.getHandle(workflowIdFor(orderId));
    await handle.signal(extendRetentionSignal, { by: 'ten days' });
    await handle.signal(purgeNowSignal);
    await waitForStatus(p.client, orderId, (s) => s.phase === 'purged', 20_000);
  });

  it('policies outside sane bounds are refused', async () => {
    const email = uniqueRecipient();
    await expect(
      p.start({ orderId: uniqueOrderId('instant'), userId: 'u', email, policy: { linkTtl: '3650d' } }),
    ).rejects.toThrow(/linkTtl: must be between 1s and 30d/);
    await expect(
      p.start({
        orderId: uniqueOrderId('instant'),
        userId: 'u',
        email,
        policy: { pollInitialInterval: '1ms' },
      }),
    ).rejects.toThrow(/pollInitialInterval/);
  });

  it('two concurrent reveals: exactly one wins', async () => {
    const { orderId, email } = await order('instant');
    await waitForStatus(p.client, orderId, settled);
    const link = linkIn((await waitForMail(email))[0]!);
    const results = await Promise.all([reveal(link), reveal(link), reveal(link)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 410, 410]);
  });
});
