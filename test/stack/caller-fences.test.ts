/**
 * Callers are fenced from each other (issue 20 item 5), tested as the attacks, with the attacker's own
 * means: a second intake caller ("shop") with its own valid secret, signing its requests correctly.
 *
 * - It tries to claim the first caller's ("checkout") provider order id before checkout does, with its own
 *   recipient: refused (400, naming orderId and shop's own prefix), and nothing changed: no binding, no
 *   order row, no workflow, no provider poll; checkout then claims its order as usual.
 * - It asks for 100 ms polls over a 30-day deadline: refused, naming the fields, nothing started.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../contracts/order';
import { POLL_BOUNDS } from '../../domain/order-fences';
import { signedIntake } from '../helpers/intake';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';
import { sandboxOrder } from '../helpers/sandbox';

const CHECKOUT = { name: 'checkout', secret: randomBytes(32).toString('hex') };
const SHOP = { name: 'shop', secret: randomBytes(32).toString('hex') };

let p: Pipeline;

beforeAll(async () => {
  p = await startPipeline({
    intakeClients: `${CHECKOUT.name}:${CHECKOUT.secret},${SHOP.name}:${SHOP.secret}`,
    orderIdPrefixes: new Map([
      ['checkout', 'co-'],
      ['shop', 'shop-'],
    ]),
    // The bounds every deployment has, not the tests' fast ones.
    pollBounds: POLL_BOUNDS,
  });
}, 60_000);

afterAll(async () => {
  await p?.stop();
});

/** Everything an order id has anywhere: its binding, its row, its workflow, the provider's polls. */
async function traces(orderId: string) {
  const q = async (sql: string) => (await p.db.query(sql, [orderId])).rowCount;
  let workflow = true;
  try {
    await p.client.workflow.getHandle(workflowIdFor(orderId)).describe();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    workflow = false;
  }
  return {
    bindings: await q('SELECT 1 FROM intake_requests WHERE order_id = $1'),
    orders: await q('SELECT 1 FROM orders WHERE order_id = $1'),
    audit: await q('SELECT 1 FROM audit_log WHERE order_id = $1'),
    workflow,
  };
}

describe('callers fenced from each other', () => {
  it("refuses a caller claiming another caller's order id, and changes nothing", async () => {
    // checkout's order at the provider, under checkout's prefix; the scenario is instant (the default).
    const orderId = `co-${uniqueOrderId('instant')}`;
    const attacker = uniqueRecipient();
    const claim = await signedIntake(p.apiUrl, SHOP, '/v1/fulfillments', {
      orderId,
      userId: 'shop-user',
      email: attacker,
    });
    expect(claim.status).toBe(400);
    expect(claim.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const refusal = (await claim.json()) as { errors: Array<{ name: string }>; detail: string };
    expect(refusal).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      errors: [{ name: 'orderId' }],
      detail: `orderId: must start with this caller's order-id prefix "shop-"`,
    });
    // Neither the order id nor the recipient is echoed.
    expect(JSON.stringify(refusal)).not.toContain(orderId);
    expect(JSON.stringify(refusal)).not.toContain(attacker);
    expect(await traces(orderId)).toEqual({ bindings: 0, orders: 0, audit: 0, workflow: false });
    await new Promise((r) => setTimeout(r, 1000));
    // The provider was never asked about it.
    expect((await sandboxOrder(orderId)).polls).toBe(0);

    // An id outside every prefix is refused to shop just the same.
    const bare = uniqueOrderId('instant');
    expect(
      (
        await signedIntake(p.apiUrl, SHOP, '/v1/fulfillments', {
          orderId: bare,
          userId: 'u',
          email: attacker,
        })
      ).status,
    ).toBe(400);
    expect(await traces(bare)).toEqual({ bindings: 0, orders: 0, audit: 0, workflow: false });

    // The owner claims its order as usual, and it is the owner's.
    const own = await signedIntake(p.apiUrl, CHECKOUT, '/v1/fulfillments', {
      orderId,
      userId: 'checkout-user',
      email: uniqueRecipient(),
    });
    expect(own.status).toBe(202);
    const { rows } = await p.db.query<{ caller: string }>(
      'SELECT caller FROM intake_requests WHERE order_id = $1',
      [orderId],
    );
    expect(rows).toEqual([{ caller: 'checkout' }]);
  }, 60_000);

  it('refuses a caller that asks for 100 ms polls over 30 days, naming the fields, starting nothing', async () => {
    const orderId = `shop-${uniqueOrderId('instant')}`;
    const res = await signedIntake(p.apiUrl, SHOP, '/v1/fulfillments', {
      orderId,
      userId: 'shop-user',
      email: uniqueRecipient(),
      policy: { pollInitialInterval: '100ms', pollMaxInterval: '100ms', deadline: '30d' },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      errors: [{ name: 'policy.pollInitialInterval' }, { name: 'policy.pollMaxInterval' }],
      detail: 'policy.pollInitialInterval: must be at least 5s; policy.pollMaxInterval: must be at least 5s',
    });
    // At the floor but for 30 days: over the budget of polls, and the answer says what would fit.
    const steady = await signedIntake(p.apiUrl, SHOP, '/v1/fulfillments', {
      orderId,
      userId: 'shop-user',
      email: uniqueRecipient(),
      policy: { pollInitialInterval: '5s', pollMaxInterval: '5s', deadline: '30d' },
    });
    expect(steady.status).toBe(400);
    expect(((await steady.json()) as { detail: string }).detail).toMatch(
      /^policy\.pollMaxInterval: allows about \d+ provider polls .* raise it to at least 28m/,
    );
    expect(await traces(orderId)).toEqual({ bindings: 0, orders: 0, audit: 0, workflow: false });
  }, 60_000);
});
