/**
 * Every branch of the order's life, on the time-skipping test server with stubbed activities and the
 * real default timers (24 h link, 30-day retention, 24 h deadline, 5 s–5 min polling). The stubs record
 * each activity call, so a test says what the provider answered and checks what the order did.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cancelSignal,
  checkNowSignal,
  extendRetentionSignal,
  ORDER_OWNERSHIP_REFUSED,
  type OrderState,
  type OrderStatusView,
  purgeNowSignal,
  ResendRefusal,
  resendLinkUpdate,
  retrievedSignal,
  statusQuery,
} from '../../contracts/order';
import { type Answer, startStubbedOrders } from './helpers/stub-order';

let orders: Awaited<ReturnType<typeof startStubbedOrders>>;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

beforeAll(async () => {
  orders = await startStubbedOrders();
});

afterAll(async () => {
  await orders?.stop();
});

const FULFILLED: Answer = { status: 'FULFILLED', stored: 3 };
const PENDING: Answer = { status: 'PENDING', stored: 0 };

/** Polls the status query (in real time; the test server skips time only while a result is awaited). */
async function until(
  handle: { query: (q: typeof statusQuery) => Promise<OrderStatusView> },
  ok: (s: OrderStatusView) => boolean,
): Promise<OrderStatusView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await handle.query(statusQuery);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`status never matched: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('collect and deliver', () => {
  it('instant: one link, DELIVERED, the link expires after 24 h and the cards go 30 days after delivery', async () => {
    const o = await orders.start([FULFILLED], { linkWithPoll: true });
    const final = await o.handle.result();
    expect(final).toMatchObject({
      phase: 'purged',
      outcome: 'DELIVERED',
      deliveredCards: 3,
      failureReason: null,
    });
    // One step to the link: the first poll registers the order, finds it complete, sends the link and
    // records the outcome with it. No deliver or finishOrder step.
    expect(o.names()).toEqual(['collect', 'expireDelivery', 'purgeOrder']);
    const poll = o.callsOf('collect')[0]!.input;
    expect(poll.register).toMatchObject({ orderId: o.orderId, userId: 'user-1' });
    expect(poll.deliverWhenComplete).toEqual({
      deliveryId: final.deliveries[0]!.id,
      recipient: 'customer@example.test',
      linkTtlMs: DAY,
      retentionMs: 30 * DAY,
      deliveredCards: 0,
    });
    expect(o.callsOf('expireDelivery')[0]?.input).toMatchObject({ deliveryId: final.deliveries[0]!.id });
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'retention' });
    const delivery = final.deliveries[0]!;
    expect(delivery.expired).toBe(true);
    // Purged at delivery + 30 days (the link was minted a moment before the workflow saw it sent).
    const deliveredAt = Date.parse(delivery.expiresAt) - DAY;
    expect(Math.abs(Date.parse(final.purgeAt!) - deliveredAt - 30 * DAY)).toBeLessThan(1_000);
  });

  it("when the poll's link fails (an SMTP outage), the deliver step sends it under the same delivery id", async () => {
    const o = await orders.start([FULFILLED]);
    const final = await o.handle.result();
    expect(final).toMatchObject({ phase: 'purged', outcome: 'DELIVERED', deliveredCards: 3 });
    expect(o.names()).toEqual(['collect', 'deliver', 'expireDelivery', 'purgeOrder']);
    const { deliveryId } = o.callsOf('collect')[0]!.input.deliverWhenComplete as { deliveryId: string };
    expect(o.callsOf('deliver')[0]?.input).toMatchObject({
      deliveryId,
      kind: 'batch',
      linkTtlMs: DAY,
      retentionMs: 30 * DAY,
      finish: { outcome: 'DELIVERED', expectCards: 3 },
    });
    expect(final.deliveries.map((d) => d.id)).toEqual([deliveryId]);
  });

  it('a poll that could not send the link before the deadline ends it is not given the link', async () => {
    const o = await orders.start([FULFILLED], { linkWithPoll: true, policy: { deadline: '90s' } });
    const final = await o.handle.result();
    expect(final.outcome).toBe('DELIVERED');
    expect(o.callsOf('collect')[0]?.input.deliverWhenComplete).toBeUndefined();
    expect(o.names()).toEqual(['collect', 'deliver', 'expireDelivery', 'purgeOrder']);
  });

  it('partial fills with deliverPartial: a link per batch, the last at FULFILLED', async () => {
    const o = await orders.start(
      [{ status: 'PARTIALLY_FILLED', stored: 1 }, { status: 'PARTIALLY_FILLED', stored: 2 }, FULFILLED],
      { policy: { deliverPartial: true } },
    );
    const final = await o.handle.result();
    expect(final.outcome).toBe('DELIVERED');
    expect(final.deliveries.map((d) => d.cardCount)).toEqual([1, 1, 1]);
    expect(o.callsOf('expireDelivery')).toHaveLength(3);
  });

  it('partial fills without deliverPartial: one link for every card at FULFILLED', async () => {
    const o = await orders.start([{ status: 'PARTIALLY_FILLED', stored: 1 }, FULFILLED]);
    const final = await o.handle.result();
    expect(final.outcome).toBe('DELIVERED');
    expect(final.deliveries.map((d) => d.cardCount)).toEqual([3]);
    expect(o.callsOf('collect').length).toBeGreaterThanOrEqual(2);
  });

  it('the deadline with cards stored: delivers them, PARTIALLY_DELIVERED, a deadline notice', async () => {
    const o = await orders.start([{ status: 'PARTIALLY_FILLED', stored: 2 }]);
    const final = await o.handle.result();
    expect(final).toMatchObject({ outcome: 'PARTIALLY_DELIVERED', deliveredCards: 2, failureReason: null });
    expect(o.callsOf('notifyCustomer')[0]?.input).toMatchObject({ kind: 'deadline', deliveredCards: 2 });
    // The deadline is the policy's 24 h: polling backed off to 5 minutes, so roughly 288 polls, not a few.
    expect(o.callsOf('collect').length).toBeGreaterThan(250);
  });

  it('the deadline with nothing stored: FAILED with a reason, a notice, no link, purged at once', async () => {
    const o = await orders.start([PENDING]);
    const final = await o.handle.result();
    expect(final).toMatchObject({ outcome: 'FAILED', storedCards: 0, deliveredCards: 0 });
    expect(final.failureReason).toMatch(/deadline/);
    expect(o.callsOf('deliver')).toHaveLength(0);
    expect(o.callsOf('notifyCustomer')[0]?.input).toMatchObject({ kind: 'deadline' });
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'retention' });
    expect(Date.parse(final.purgeAt!) - Date.parse(final.deadlineAt)).toBeLessThan(HOUR);
  });

  for (const [status, notice] of [
    ['FAILED', 'failed'],
    ['CANCELLED', 'cancelled'],
  ] as const) {
    it(`provider ${status} after a partial fill: the issued cards are delivered, with a ${notice} notice`, async () => {
      const o = await orders.start([
        { status: 'PARTIALLY_FILLED', stored: 1 },
        { status, stored: 1 },
      ]);
      const final = await o.handle.result();
      expect(final).toMatchObject({ outcome: 'PARTIALLY_DELIVERED', deliveredCards: 1 });
      expect(final.failureReason).toBe(`the provider reported the order as ${status}`);
      expect(o.callsOf('notifyCustomer')[0]?.input).toMatchObject({ kind: notice, deliveredCards: 1 });
    });
  }

  it('provider FAILED with nothing issued: FAILED, no link', async () => {
    const o = await orders.start([{ status: 'FAILED', stored: 0 }]);
    const final = await o.handle.result();
    expect(final.outcome).toBe('FAILED');
    expect(o.callsOf('deliver')).toHaveLength(0);
    expect(o.callsOf('finishOrder')[0]?.input).toMatchObject({ outcome: 'FAILED', deliveredCards: 0 });
  });

  for (const fail of ['notFound', 'auth', 'contract'] as const) {
    it(`a non-retryable provider error (${fail}) ends the order as FAILED at once`, async () => {
      const o = await orders.start([{ fail, message: `provider said ${fail}` }]);
      const final = await o.handle.result();
      expect(final.outcome).toBe('FAILED');
      expect(final.failureReason).toMatch(new RegExp(`^Provider\\w+: provider said ${fail}$`));
      expect(o.callsOf('collect')).toHaveLength(1);
      expect(o.callsOf('notifyCustomer')[0]?.input).toMatchObject({ kind: 'failed' });
    });
  }

  it('FULFILLED short of the quantity: delivers what came, PARTIALLY_DELIVERED with a reason', async () => {
    const o = await orders.start([{ status: 'FULFILLED', stored: 2, quantity: 3 }]);
    const final = await o.handle.result();
    expect(final).toMatchObject({ outcome: 'PARTIALLY_DELIVERED', deliveredCards: 2 });
    expect(final.failureReason).toBe('the provider fulfilled 2 of 3 cards');
  });
});

describe("the operator's stop", () => {
  it('cancel while collecting: no link, the customer told, CANCELLED, purged', async () => {
    const o = await orders.start([PENDING]);
    await until(o.handle, (s) => s.phase === 'collecting');
    await o.handle.signal(cancelSignal, { reason: 'customer asked' });
    const final = await o.handle.result();
    expect(final).toMatchObject({ outcome: 'CANCELLED', phase: 'purged', failureReason: 'customer asked' });
    expect(o.callsOf('deliver')).toHaveLength(0);
    // No poll ever answered, so the workflow cannot know the first one registered the order: the stop
    // registers it (idempotently) before the notice and the outcome, which need its row.
    expect(o.names().slice(-5)).toEqual([
      'revokeLinks',
      'registerOrder',
      'notifyCustomer',
      'finishOrder',
      'purgeOrder',
    ]);
    expect(o.callsOf('collect')[0]?.input.register).toBeDefined();
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'cancelled' });
  });

  it('cancel while a link email hangs interrupts it: CANCELLED, whatever it minted revoked, the cards purged', async () => {
    const o = await orders.start([FULFILLED], { holdDelivery: true });
    await until(o.handle, (s) => s.phase === 'delivering');
    await o.handle.signal(cancelSignal, { reason: 'stuck mail' });
    const final = await o.handle.result();
    o.release();
    expect(final).toMatchObject({
      outcome: 'CANCELLED',
      phase: 'purged',
      failureReason: 'stuck mail',
      deliveries: [],
    });
    const names = o.names().filter((n) => n !== 'expireDelivery'); // time skips while an update is awaited
    expect(names.indexOf('revokeLinks')).toBeGreaterThan(names.indexOf('deliver'));
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'cancelled' });
  });

  it("cancel while the poll's link email hangs waits for it to end, then revokes: CANCELLED, purged", async () => {
    const o = await orders.start([FULFILLED], { holdDelivery: true, linkWithPoll: true });
    await until(o.handle, () => o.callsOf('collect').length === 1);
    await new Promise((r) => setTimeout(r, 300)); // the poll is sending its link
    await o.handle.signal(cancelSignal, { reason: 'stuck mail' });
    const final = await o.handle.result();
    o.release();
    expect(final).toMatchObject({ outcome: 'CANCELLED', phase: 'purged', failureReason: 'stuck mail' });
    // Nothing the interrupted poll minted can outlive the revocation: it came after the poll ended.
    const revoke = o.calls.findIndex((c) => c.name === 'revokeLinks');
    expect(revoke).toBeGreaterThan(0);
    expect(o.calls[revoke]!.at).toBeGreaterThanOrEqual(o.endedAt(0)!);
    expect(o.callsOf('deliver')).toHaveLength(0);
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'cancelled' });
  });

  it('cancel after a delivery finished keeps its outcome, revokes the link and purges', async () => {
    const o = await orders.start([FULFILLED], { holdDelivery: true });
    await until(o.handle, (s) => s.phase === 'delivering');
    o.release();
    await until(o.handle, (s) => s.phase === 'delivered');
    await o.handle.signal(cancelSignal);
    const final = await o.handle.result();
    expect(final.outcome).toBe('DELIVERED');
    expect(o.callsOf('revokeLinks')[0]?.input).toMatchObject({ reason: 'cancelled' });
  });

  it('cancel after delivery: the live link is revoked and the cards purged, the outcome stays', async () => {
    const o = await orders.start([FULFILLED]);
    await until(o.handle, (s) => s.phase === 'delivered');
    await o.handle.signal(cancelSignal);
    const final = await o.handle.result();
    expect(final).toMatchObject({ outcome: 'DELIVERED', phase: 'purged' });
    expect(o.callsOf('revokeLinks')[0]?.input).toMatchObject({ reason: 'cancelled' });
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'cancelled' });
    expect(o.callsOf('notifyCustomer')).toHaveLength(0);
  });

  it('cancelling the workflow itself while collecting ends the order like the cancel signal', async () => {
    const o = await orders.start([PENDING]);
    await until(o.handle, (s) => s.phase === 'collecting');
    await o.handle.cancel();
    const final = await o.handle.result();
    expect(final).toMatchObject({ outcome: 'CANCELLED', failureReason: 'workflow cancellation requested' });
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'cancelled' });
  });

  it('cancelling the workflow itself after delivery revokes and purges', async () => {
    const o = await orders.start([FULFILLED]);
    await until(o.handle, (s) => s.phase === 'delivered');
    await o.handle.cancel();
    const final = await o.handle.result();
    expect(final.phase).toBe('purged');
    expect(o.callsOf('revokeLinks')).toHaveLength(1);
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'cancelled' });
  });

  it('purgeNow after delivery purges at once, keeping the outcome', async () => {
    const o = await orders.start([FULFILLED]);
    await until(o.handle, (s) => s.phase === 'delivered');
    await o.handle.signal(purgeNowSignal);
    const final = await o.handle.result();
    expect(final).toMatchObject({ outcome: 'DELIVERED', phase: 'purged' });
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'operator' });
    expect(o.callsOf('revokeLinks')).toHaveLength(0);
  });

  it('purgeNow while collecting ends the order as cancelled', async () => {
    const o = await orders.start([PENDING]);
    await until(o.handle, (s) => s.phase === 'collecting');
    await o.handle.signal(purgeNowSignal);
    const final = await o.handle.result();
    expect(final).toMatchObject({ outcome: 'CANCELLED', failureReason: 'purge requested by an operator' });
  });

  it('checkNow polls at once instead of waiting out the backoff', async () => {
    const o = await orders.start([PENDING], { policy: { pollInitialInterval: '1h', pollMaxInterval: '1h' } });
    await until(o.handle, () => o.callsOf('collect').length === 1);
    await o.handle.signal(checkNowSignal);
    await until(o.handle, () => o.callsOf('collect').length === 2);
    await o.handle.signal(cancelSignal);
    await o.handle.result();
  });
});

describe('aftercare', () => {
  it('resendLink revokes the live link and sends a new one for every card', async () => {
    const o = await orders.start([FULFILLED]);
    await until(o.handle, (s) => s.phase === 'delivered');
    const resent = await o.handle.executeUpdate(resendLinkUpdate, { args: [{}] });
    expect(resent.cardCount).toBe(3);
    expect(o.callsOf('revokeLinks')[0]?.input).toMatchObject({ reason: 'resend' });
    expect(o.callsOf('deliver').map((c) => c.input.kind)).toEqual(['batch', 'resend']);
    const s = await o.handle.query(statusQuery);
    expect(s.deliveries.map((d) => d.superseded)).toEqual([true, false]);
    expect(s.deliveredCards).toBe(3);
    await o.handle.signal(purgeNowSignal);
    await o.handle.result();
  });

  it("resendLink's validator refuses an order with no stored card, and nothing is called", async () => {
    const o = await orders.start([PENDING]);
    await until(o.handle, (s) => s.phase === 'collecting');
    await expect(o.handle.executeUpdate(resendLinkUpdate, { args: [{}] })).rejects.toThrow(
      WorkflowUpdateFailedError,
    );
    expect(o.callsOf('revokeLinks')).toHaveLength(0);
    expect(o.callsOf('deliver')).toHaveLength(0);
    await o.handle.signal(cancelSignal);
    await o.handle.result();
  });

  it('extendRetention with a bad value is ignored and the order goes on', async () => {
    const o = await orders.start([FULFILLED]);
    await until(o.handle, (s) => s.phase === 'delivered');
    const before = (await o.handle.query(statusQuery)).purgeAt;
    await o.handle.signal(extendRetentionSignal, { by: 'forever' });
    await o.handle.signal(extendRetentionSignal, { by: '-5d' });
    const after = await o.handle.query(statusQuery);
    expect(after.purgeAt).toBe(before);
    expect(o.callsOf('recordRetention')).toHaveLength(0);
    const final = await o.handle.result();
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'retention' });
    expect(final.purgeAt).toBe(before);
  });

  it('extendRetention moves the purge out and records it', async () => {
    const o = await orders.start([FULFILLED]);
    await until(o.handle, (s) => s.phase === 'delivered');
    const before = Date.parse((await o.handle.query(statusQuery)).purgeAt!);
    await o.handle.signal(extendRetentionSignal, { by: '10d' });
    const final = await o.handle.result();
    expect(Date.parse(final.purgeAt!) - before).toBe(10 * DAY);
    expect(o.callsOf('recordRetention')[0]?.input).toMatchObject({ byMs: 10 * DAY, by: '10d' });
  });

  it('purgeOnRetrieval with several links purges only once every standing link was used', async () => {
    const o = await orders.start([{ status: 'PARTIALLY_FILLED', stored: 1 }, FULFILLED], {
      policy: { deliverPartial: true, purgeOnRetrieval: true },
    });
    const s = await until(o.handle, (v) => v.phase === 'delivered');
    expect(s.deliveries).toHaveLength(2);
    await o.handle.signal(retrievedSignal, { deliveryId: s.deliveries[0]!.id });
    expect((await o.handle.query(statusQuery)).phase).toBe('delivered');
    expect(o.callsOf('purgeOrder')).toHaveLength(0);
    await o.handle.signal(retrievedSignal, { deliveryId: s.deliveries[1]!.id });
    await o.handle.result();
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'retrieved' });
  });

  it('a link revealed before the step that sent it reported back counts once recorded: purgeOnRetrieval purges', async () => {
    const o = await orders.start([FULFILLED], {
      holdDelivery: true,
      linkWithPoll: true,
      policy: { purgeOnRetrieval: true },
      caller: { endpoint: 'ok' },
    });
    await until(o.handle, () => o.callsOf('collect').length === 1);
    // The customer opens the email while the poll that sent it has not returned yet.
    await o.handle.signal(retrievedSignal, { deliveryId: `${o.orderId}#1` });
    // Ids that cannot be in flight are not kept: another order's, one not begun, garbage.
    for (const deliveryId of ['other#1', `${o.orderId}#7`, `${o.orderId}#1e0`, ''])
      await o.handle.signal(retrievedSignal, { deliveryId });
    o.release();
    const final = await o.handle.result();
    expect(final.deliveries).toEqual([expect.objectContaining({ id: `${o.orderId}#1`, retrieved: true })]);
    expect(o.callsOf('purgeOrder')[0]?.input).toMatchObject({ reason: 'retrieved' });
    const events = o.received.map((e) => e.type);
    expect(events.indexOf('link.retrieved')).toBe(events.indexOf('link.sent') + 1);
    expect(events.filter((t) => t === 'link.retrieved')).toHaveLength(1);
  });

  it('a run carried over by continue-as-new keeps its state: no second registration, timers re-armed', async () => {
    // The test server's clock, which earlier tests skipped days ahead.
    const now = await orders.env.currentTimeMs();
    const carried: OrderState = {
      phase: 'collecting',
      providerStatus: 'PARTIALLY_FILLED',
      quantity: 3,
      stored: 1,
      delivered: 1,
      deliveries: [
        {
          id: 'x#1',
          cardCount: 1,
          expiresAt: now + HOUR,
          expired: false,
          superseded: false,
          retrieved: false,
        },
      ],
      nextDeliverySeq: 2,
      startedAt: now - HOUR,
      deadlineAt: now + 23 * HOUR,
      deliveredAt: now - HOUR,
      purgeAt: null,
      retentionExtraMs: 0,
      outcome: null,
      failureReason: null,
      polls: 40,
      webhooks: { nextSequence: 1, outbox: [], delivered: 0, undeliverable: [], stopped: null },
      recipientRefused: null,
    };
    const o = await orders.start([FULFILLED], { carried, policy: { deliverPartial: true } });
    const final = await o.handle.result();
    expect(o.callsOf('registerOrder')).toHaveLength(0);
    expect(o.callsOf('collect')[0]?.input).toMatchObject({ knownStored: 1, knownStatus: 'PARTIALLY_FILLED' });
    expect(o.callsOf('collect')[0]?.input.register).toBeUndefined();
    expect(final.deliveries.map((d) => [d.id.split('#')[1], d.cardCount])).toEqual([
      ['1', 1],
      ['2', 2],
    ]);
    expect(o.callsOf('expireDelivery').map((c) => c.input.deliveryId)).toContain('x#1');
    expect(final).toMatchObject({ outcome: 'DELIVERED', deliveredCards: 3 });
  });
});

describe('events for the caller', () => {
  it('an order from an intake caller sends each event once, in sequence, and ends only when all are sent', async () => {
    const o = await orders.start([FULFILLED], { caller: { endpoint: 'ok' } });
    const final = await o.handle.result();
    expect(o.received.map((e) => e.type)).toEqual([
      'order.accepted',
      'link.sent',
      'order.delivered',
      'link.expired',
      'order.purged',
    ]);
    expect(o.received.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(o.received.map((e) => e.id)).size).toBe(5);
    expect(o.received.every((e) => e.orderId === o.orderId)).toBe(true);
    expect(o.received[1]?.data).toMatchObject({ cardCount: 3, kind: 'batch' });
    expect(o.received[2]?.data).toMatchObject({ outcome: 'DELIVERED', deliveredCards: 3, quantity: 3 });
    expect(o.received[4]?.data).toEqual({ reason: 'retention' });
    expect(final.webhooks).toEqual({
      lastSequence: 5,
      pending: 0,
      delivered: 5,
      undeliverable: [],
      stopped: null,
    });
  });

  it('retrieval, a resend and a cancel are told too', async () => {
    const o = await orders.start([FULFILLED], { caller: { endpoint: 'ok' } });
    const s = await until(o.handle, (v) => v.phase === 'delivered');
    await o.handle.signal(retrievedSignal, { deliveryId: s.deliveries[0]!.id });
    await o.handle.signal(retrievedSignal, { deliveryId: s.deliveries[0]!.id }); // news once only
    await o.handle.executeUpdate(resendLinkUpdate, { args: [{}] });
    await o.handle.signal(cancelSignal);
    await o.handle.result();
    // The test server may skip past a link's 24 h while the test waits on the update: expiries aside,
    const told = o.received.map((e) => e.type).filter((t) => t !== 'link.expired');
    expect(told).toEqual([
      'order.accepted',
      'link.sent',
      'order.delivered',
      'link.retrieved',
      'link.revoked',
      'link.sent',
      'link.revoked',
      'order.purged',
    ]);
    expect(o.received.find((e) => e.type === 'link.revoked')?.data).toEqual({ reason: 'resend', count: 1 });
  });

  it('a failing endpoint never holds the order up; each event is given up on after webhookMaxAge', async () => {
    const o = await orders.start([FULFILLED], {
      caller: { endpoint: 'failing' },
      policy: { webhookMaxAge: '10m' },
    });
    const s = await until(o.handle, (v) => v.phase === 'delivered');
    expect(s.webhooks.delivered).toBe(0);
    const final = await o.handle.result();
    expect(final.webhooks.undeliverable).toHaveLength(5);
    expect(o.callsOf('webhookUndeliverable')).toHaveLength(5);
    // Retried with backoff (1 s doubling to a minute) for ten minutes: more than a few tries, not thousands.
    const tries = o.callsOf('sendWebhook').length;
    expect(tries).toBeGreaterThan(5 * 5);
    expect(tries).toBeLessThan(5 * 30);
  });

  it('sends no event before the first poll has registered the order (its row holds the events)', async () => {
    // The first poll's attempt finds nothing and is retried by Temporal: the order is registered only when
    // the step completes, on its second attempt.
    const o = await orders.start([PENDING, FULFILLED], { caller: { endpoint: 'ok' } });
    await o.handle.result();
    const names = o.names().filter((n) => n !== 'expireDelivery'); // time skips while an update is awaited
    expect(names.slice(0, 2)).toEqual(['collect', 'collect']);
    expect(names.indexOf('sendWebhook')).toBeGreaterThan(1);
    expect(o.callsOf('collect')[0]?.input).toHaveProperty('register');
  });

  it('410 stops every further event for the order', async () => {
    const o = await orders.start([FULFILLED], { caller: { endpoint: 'gone' } });
    const final = await o.handle.result();
    // Events queued behind the refused one (sent only once the first poll registered the order) go too.
    expect(o.callsOf('sendWebhook')).toHaveLength(1);
    expect(final.webhooks).toMatchObject({ stopped: 'gone', pending: 0 });
  });

  it('an order without a caller (CLI, typed client) sends nothing', async () => {
    const o = await orders.start([FULFILLED]);
    const final = await o.handle.result();
    expect(o.callsOf('sendWebhook')).toHaveLength(0);
    expect(final.webhooks.lastSequence).toBe(0);
  });
});

describe('a link email refused for good', () => {
  it('ends that delivery, not the order: the status says why, and a resend to a corrected address delivers', async () => {
    const o = await orders.start([FULFILLED], { recipient: 'refused@example.test' });
    const failed = await until(o.handle, (s) => s.outcome !== null && s.phase !== 'delivering');
    expect(failed).toMatchObject({ outcome: 'FAILED', phase: 'failed', deliveredCards: 0, deliveries: [] });
    expect(failed.recipientRefused).toMatch(/SMTP 550/);
    expect(failed.failureReason).toMatch(/^the link email was refused: .*SMTP 550/);
    expect(JSON.stringify(failed)).not.toContain('refused@example.test');
    // A notice would go to the address that was just refused: none is sent.
    expect(o.callsOf('notifyCustomer')).toHaveLength(0);

    const resent = await o.handle.executeUpdate(resendLinkUpdate, {
      args: [{ recipient: 'corrected@example.test', requestedBy: 'operator' }],
    });
    expect(resent.cardCount).toBe(3);
    const last = o.callsOf('deliver').at(-1)!.input;
    expect(last).toMatchObject({
      kind: 'resend',
      recipient: 'corrected@example.test',
      recipientChanged: true,
    });
    expect(last.requestedBy).toBe('operator');
    const after = await o.handle.query(statusQuery);
    expect(after.recipientRefused).toBeNull();
    expect(after.deliveries.map((d) => d.cardCount)).toEqual([3]);
    await o.handle.signal(purgeNowSignal);
    await o.handle.result();
  });

  it('refused when the poll sent it: recorded once, no second try, a resend takes the next delivery id', async () => {
    const o = await orders.start([FULFILLED], { recipient: 'refused@example.test', linkWithPoll: true });
    const failed = await until(o.handle, (s) => s.outcome !== null && s.phase !== 'delivering');
    expect(failed).toMatchObject({ outcome: 'FAILED', phase: 'failed', deliveredCards: 0, deliveries: [] });
    expect(failed.failureReason).toMatch(/^the link email was refused: .*SMTP 550/);
    expect(o.names()).toEqual(['collect', 'finishOrder']);
    const refusedId = (o.callsOf('collect')[0]!.input.deliverWhenComplete as { deliveryId: string })
      .deliveryId;
    const resent = await o.handle.executeUpdate(resendLinkUpdate, {
      args: [{ recipient: 'corrected@example.test', requestedBy: 'operator' }],
    });
    expect(resent.cardCount).toBe(3);
    expect(resent.deliveryId).not.toBe(refusedId);
    await o.handle.signal(purgeNowSignal);
    await o.handle.result();
  });

  it('a resend refused again fails the update with the reason; a malformed address is refused unechoed', async () => {
    const o = await orders.start([FULFILLED], { recipient: 'refused@example.test' });
    await until(o.handle, (s) => s.outcome !== null && s.phase !== 'delivering');
    await expect(
      o.handle.executeUpdate(resendLinkUpdate, { args: [{ recipient: 'refused-again@example.test' }] }),
    ).rejects.toThrow(WorkflowUpdateFailedError);
    const deliveriesBefore = o.callsOf('deliver').length;
    const bad = 'not an address <x>';
    const err = await o.handle
      .executeUpdate(resendLinkUpdate, { args: [{ recipient: bad }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String(err.cause?.message)).toBe('recipient: not an email address');
    expect(o.callsOf('deliver')).toHaveLength(deliveriesBefore);
    await o.handle.signal(purgeNowSignal);
    await o.handle.result();
  });
});

/** The failure type a refused or failed update carries. */
function updateFailure(err: unknown): string | undefined {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

describe('a recipient correction is a correction (DESIGN 3.13)', () => {
  it("refuses a new recipient for an order whose email was not refused, a caller's or an operator's: nothing revoked or sent", async () => {
    const o = await orders.start([FULFILLED]);
    await until(o.handle, (s) => s.phase === 'delivered');
    const acted = () => ['revokeLinks', 'deliver', 'notifyCustomer'].map((n) => o.callsOf(n as never).length);
    const before = acted();
    for (const requestedBy of ['caller:checkout', 'operator:ann', undefined]) {
      const err = await o.handle
        .executeUpdate(resendLinkUpdate, {
          args: [{ recipient: 'attacker@example.test', ...(requestedBy ? { requestedBy } : {}) }],
        })
        .catch((e: unknown) => e);
      expect(updateFailure(err), String(requestedBy)).toBe(ResendRefusal.recipientNotRefused);
      expect(String((err as WorkflowUpdateFailedError).cause?.message)).not.toContain('attacker');
    }
    // A caller may not have revealed cards re-delivered to the same address either.
    const same = await o.handle
      .executeUpdate(resendLinkUpdate, { args: [{ requestedBy: 'caller:checkout' }] })
      .catch((e: unknown) => e);
    expect(updateFailure(same)).toBe(ResendRefusal.callerMayOnlyCorrect);
    expect(acted()).toEqual(before);
    const s = await o.handle.query(statusQuery);
    expect(s.deliveries.map((d) => d.superseded)).toEqual([false]);
    // An operator's resend to the same address still re-delivers every card, under the operator's name.
    const resent = await o.handle.executeUpdate(resendLinkUpdate, {
      args: [{ requestedBy: 'operator:ann' }],
    });
    expect(resent.cardCount).toBe(3);
    expect(o.callsOf('deliver').at(-1)?.input).toMatchObject({ kind: 'resend', requestedBy: 'operator:ann' });
    expect(o.callsOf('deliver').at(-1)?.input.unrevealedOnly).toBeUndefined();
    expect(o.callsOf('notifyCustomer')).toHaveLength(0);
    await o.handle.signal(purgeNowSignal);
    await o.handle.result();
  });

  it('a correction of a refused recipient covers only the cards no link revealed, and tells the previous address', async () => {
    const o = await orders.start([FULFILLED], { recipient: 'refused@example.test' });
    await until(o.handle, (s) => s.outcome !== null && s.recipientRefused !== null);
    o.reveal(1);
    const resent = await o.handle.executeUpdate(resendLinkUpdate, {
      args: [{ recipient: 'corrected@example.test', requestedBy: 'caller:checkout' }],
    });
    expect(resent.cardCount).toBe(2);
    expect(o.callsOf('deliver').at(-1)?.input).toMatchObject({
      kind: 'resend',
      recipient: 'corrected@example.test',
      recipientChanged: true,
      unrevealedOnly: true,
      requestedBy: 'caller:checkout',
    });
    const names = o.names().filter((n) => n !== 'expireDelivery'); // time skips while an update is awaited
    expect(names.slice(names.lastIndexOf('revokeLinks'))).toEqual([
      'revokeLinks',
      'deliver',
      'notifyCustomer',
    ]);
    expect(o.callsOf('notifyCustomer')).toEqual([
      expect.objectContaining({
        input: expect.objectContaining({
          recipient: 'refused@example.test',
          kind: 'recipient-changed',
          deliveryId: resent.deliveryId,
        }),
      }),
    ]);
    expect(await o.handle.query(statusQuery)).toMatchObject({ recipientRefused: null });
    // Corrected once: the order's recipient is no longer refused, so nobody can re-route it now.
    const again = await o.handle
      .executeUpdate(resendLinkUpdate, {
        args: [{ recipient: 'attacker@example.test', requestedBy: 'caller:checkout' }],
      })
      .catch((e: unknown) => e);
    expect(updateFailure(again)).toBe(ResendRefusal.recipientNotRefused);
    await o.handle.signal(purgeNowSignal);
    await o.handle.result();
  });

  it('one correction at a time: another while the first is being sent is refused, and only the first goes out', async () => {
    const o = await orders.start([FULFILLED], { recipient: 'refused@example.test' });
    await until(o.handle, (s) => s.outcome !== null && s.recipientRefused !== null);
    o.hold();
    const first = await o.handle.startUpdate(resendLinkUpdate, {
      args: [{ recipient: 'corrected@example.test', requestedBy: 'caller:checkout' }],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    const second = await o.handle
      .executeUpdate(resendLinkUpdate, {
        args: [{ recipient: 'other@example.test', requestedBy: 'caller:checkout' }],
      })
      .catch((e: unknown) => e);
    expect(updateFailure(second)).toBe(ResendRefusal.correctionUnderWay);
    o.release();
    expect((await first.result()).cardCount).toBe(3);
    expect(o.callsOf('deliver').map((c) => c.input.recipient)).not.toContain('other@example.test');
    await o.handle.signal(purgeNowSignal);
    await o.handle.result();
  });

  it('every card already revealed: the correction sends nothing, says so, and the order stays correctable', async () => {
    const o = await orders.start([FULFILLED], { recipient: 'refused@example.test' });
    await until(o.handle, (s) => s.outcome !== null && s.recipientRefused !== null);
    o.reveal(3);
    const err = await o.handle
      .executeUpdate(resendLinkUpdate, {
        args: [{ recipient: 'corrected@example.test', requestedBy: 'caller:checkout' }],
      })
      .catch((e: unknown) => e);
    expect(updateFailure(err)).toBe(ResendRefusal.nothingUnrevealed);
    expect(o.callsOf('notifyCustomer')).toHaveLength(0);
    const s = await o.handle.query(statusQuery);
    expect(s.recipientRefused).toMatch(/SMTP 550/);
    expect(s.deliveries).toEqual([]);
    o.reveal(0);
    const resent = await o.handle.executeUpdate(resendLinkUpdate, {
      args: [{ recipient: 'corrected@example.test', requestedBy: 'operator:ann' }],
    });
    expect(resent.cardCount).toBe(3);
    // The previous address is still the refused one: the failed correction changed nothing.
    expect(o.callsOf('notifyCustomer').map((c) => c.input.recipient)).toEqual(['refused@example.test']);
    await o.handle.signal(purgeNowSignal);
    await o.handle.result();
  });
});

describe("an order that is not this workflow's (DESIGN 3.10)", () => {
  it('every step names the order and the run chain the server gave this workflow', async () => {
    const o = await orders.start([FULFILLED], { caller: { endpoint: 'ok' } });
    await o.handle.result();
    const chain = o.handle.firstExecutionRunId;
    expect(o.calls.length).toBeGreaterThan(5);
    for (const call of o.calls) expect(call.input.firstRunId, call.name).toBe(chain);
    expect(o.callsOf('collect')[0]?.input.register).toMatchObject({ orderId: o.orderId, firstRunId: chain });
  });

  it('a step that refuses the workflow ends it at once: nothing else is asked, nothing sent', async () => {
    const o = await orders.start([{ refused: true }]);
    const err = await o.handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).cause).toBeInstanceOf(ApplicationFailure);
    expect(((cause as ActivityFailure).cause as ApplicationFailure).type).toBe(ORDER_OWNERSHIP_REFUSED);
    expect(o.names()).toEqual(['collect']);
  });
});
