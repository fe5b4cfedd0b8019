/**
 * An order belongs to one workflow (DESIGN 3.10), shown as the attack it stops, on the real stack. Someone
 * with the Temporal UI's "Start Workflow" (or a stolen Temporal credential) starts a `giftCardOrder` naming
 * a real, delivered order and another recipient, then asks it to resend the link, purge or cancel; or
 * terminates the order's own workflow and starts a new one under its id. Every step such a workflow asks
 * for is refused: no email goes anywhere, no link or card row changes, the customer's link still works,
 * and each attempt leaves an OWNERSHIP_REFUSED audit row. The ops CLI acts through the order's own
 * workflow only, and directly in the database when that is gone.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import {
  WithStartWorkflowOperation,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetentionActivities } from '../../activities/retention';
import {
  cancelSignal,
  ORDER_OWNERSHIP_REFUSED,
  ORDER_WORKFLOW_TYPE,
  type OrderInput,
  type OrderState,
  type OrderWorkflow,
  purgeNowSignal,
  resendLinkUpdate,
  workflowIdFor,
} from '../../contracts/order';
import { defaultPolicy } from '../../domain/orders';
import { config, repoRoot } from '../../lib/config';
import { retentionDeps } from '../../workers/deps';
import { auditRows } from '../helpers/audit';
import { linkIn, mailFor, waitForMail } from '../helpers/mailbox';
import { operatorToken } from '../helpers/operators';
import { waitForStatus } from '../helpers/orders';
import {
  FAST_POLLING,
  type Pipeline,
  startPipeline,
  uniqueOrderId,
  uniqueRecipient,
} from '../helpers/pipeline';

let p: Pipeline;

beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await p?.stop();
});

/** A real order, delivered to its customer, whose link is live and unused. */
async function deliveredOrder() {
  const orderId = uniqueOrderId('instant');
  const email = uniqueRecipient();
  await p.start({ orderId, userId: 'customer', email });
  await waitForStatus(p.client, orderId, (s) => s.phase === 'delivered');
  const link = linkIn((await waitForMail(email))[0]!);
  return { orderId, email, link };
}

/** Everything of the order an attack could change: its row, cards, deliveries and link tokens. */
async function rowsOf(orderId: string) {
  const q = async (sql: string) => (await p.db.query(sql, [orderId])).rows;
  return {
    order: await q(
      `SELECT workflow_id, workflow_first_run_id, outcome, delivered_at, purge_after, purged_at, updated_at
         FROM orders WHERE order_id = $1`,
    ),
    cards: await q('SELECT id, value_ct, serial_ct FROM cards WHERE order_id = $1 ORDER BY id'),
    deliveries: await q(
      'SELECT id, kind, card_count, expires_at, sent_at FROM deliveries WHERE order_id = $1 ORDER BY id',
    ),
    tokens: await q(
      `SELECT token_hash, delivery_id, expires_at, consumed_at, revoked_at, expired_at
         FROM delivery_tokens WHERE order_id = $1 ORDER BY token_hash`,
    ),
  };
}

/** What the attacker types into "Start Workflow": the real order's id, another recipient. */
function attackerInput(orderId: string, recipient: string): OrderInput {
  return {
    orderId,
    userId: 'attacker',
    recipient,
    policy: { ...defaultPolicy(config()), ...FAST_POLLING },
  };
}

/** A state claiming three stored cards, so that resendLink's validator lets the update through. */
function claimedState(): OrderState {
  const now = Date.now();
  return {
    phase: 'delivered',
    providerStatus: 'FULFILLED',
    quantity: 3,
    stored: 3,
    delivered: 3,
    deliveries: [],
    nextDeliverySeq: 9,
    startedAt: now,
    deadlineAt: now + 3_600_000,
    deliveredAt: now,
    purgeAt: now + 3_600_000,
    retentionExtraMs: 0,
    outcome: 'DELIVERED',
    failureReason: null,
    polls: 1,
    webhooks: { nextSequence: 1, outbox: [], delivered: 0, undeliverable: [], stopped: null },
    // The attacker writes the carried state: it claims a refused recipient, so that resendLink's validator
    // (DESIGN 3.13) lets its correction through and the ownership check is what stops it.
    recipientRefused: 'the mail server refused the message permanently (SMTP 550)',
  };
}

/** The failure type under an activity failure (a workflow's or an update's cause). */
function refusalType(err: unknown): string | undefined {
  const cause =
    err instanceof WorkflowFailedError || err instanceof WorkflowUpdateFailedError ? err.cause : err;
  return cause instanceof ActivityFailure && cause.cause instanceof ApplicationFailure
    ? (cause.cause.type ?? undefined)
    : undefined;
}

const refusals = async (orderId: string) =>
  (await auditRows(p.db, orderId)).filter((r) => r.event === 'OWNERSHIP_REFUSED');

/** No mail reached these addresses (the rogue workflows are closed: any mail would be in the inbox). */
async function expectNoMail(addresses: string[]) {
  await new Promise((r) => setTimeout(r, 500));
  for (const address of addresses) expect(await mailFor(address), address).toEqual([]);
}

describe('a giftCardOrder started under another workflow id, naming a real order', () => {
  it('is refused at every step it asks for: no mail, no link or card changed, an audit row for each', async () => {
    const { orderId, email, link } = await deliveredOrder();
    const before = await rowsOf(orderId);
    const attacker = Array.from({ length: 4 }, () => `attacker-${randomUUID().slice(0, 8)}@example.test`);
    const start = (workflowId: string, recipient: string, carried?: OrderState) => ({
      taskQueue: p.taskQueue,
      workflowId,
      args: (carried
        ? [attackerInput(orderId, recipient), carried]
        : [attackerInput(orderId, recipient)]) as Parameters<OrderWorkflow>,
    });
    const rogue = () => `rogue-${randomUUID().slice(0, 8)}`;

    // 1. The attack as typed: its first step (the poll that registers) is refused; it ends there.
    const plain = rogue();
    const started = await p.client.workflow.start<OrderWorkflow>(
      ORDER_WORKFLOW_TYPE,
      start(plain, attacker[0]!),
    );
    const plainEnd = await started.result().catch((e: unknown) => e);
    expect(refusalType(plainEnd)).toBe(ORDER_OWNERSHIP_REFUSED);
    // Its resendLink, sent once it is over, reaches nothing.
    await expect(
      started.executeUpdate(resendLinkUpdate, { args: [{ recipient: attacker[0]! }] }),
    ).rejects.toThrow();

    // 2. resendLink delivered with its first task, by a workflow claiming stored cards: the update's
    //    revocation of the real links is refused, and so the update fails.
    const resend = rogue();
    const update = await p.client.workflow
      .executeUpdateWithStart(resendLinkUpdate, {
        args: [{ recipient: attacker[1]!, requestedBy: 'operator' }],
        startWorkflowOperation: new WithStartWorkflowOperation<OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
          ...start(resend, attacker[1]!, claimedState()),
          workflowIdConflictPolicy: 'FAIL',
        }),
      })
      .catch((e: unknown) => e);
    expect(update).toBeInstanceOf(Error);
    // Refused by the update's own step, or, when the first poll's refusal ended the workflow before the
    // update ran (a busy machine orders them so), by that end: either way the update did nothing.
    const ended = await p.client.workflow
      .getHandle(resend)
      .result()
      .catch((e: unknown) => e);
    expect(refusalType(update) ?? refusalType(ended)).toBe(ORDER_OWNERSHIP_REFUSED);

    // 3. purgeNow and 4. cancel, each with its start.
    const purge = rogue();
    const cancel = rogue();
    const purged = await p.client.workflow.signalWithStart<OrderWorkflow, [{ requestedBy?: string }?]>(
      ORDER_WORKFLOW_TYPE,
      {
        ...start(purge, attacker[2]!, claimedState()),
        signal: purgeNowSignal,
        signalArgs: [],
      },
    );
    const cancelled = await p.client.workflow.signalWithStart<OrderWorkflow, [{ reason?: string }?]>(
      ORDER_WORKFLOW_TYPE,
      { ...start(cancel, attacker[3]!), signal: cancelSignal, signalArgs: [{ reason: 'attack' }] },
    );
    for (const handle of [purged, cancelled, p.client.workflow.getHandle(resend)])
      expect(refusalType(await handle.result().catch((e: unknown) => e))).toBe(ORDER_OWNERSHIP_REFUSED);

    await expectNoMail(attacker);
    expect(await mailFor(email)).toHaveLength(1); // no "replaces an earlier email", no notice
    expect(await rowsOf(orderId)).toEqual(before);
    expect((await fetch(link)).status).toBe(200);
    const status = await waitForStatus(p.client, orderId, () => true);
    expect(status).toMatchObject({ phase: 'delivered', outcome: 'DELIVERED', storedCards: 3 });

    const refused = await refusals(orderId);
    const by = (id: string) => refused.filter((r) => r.detail.workflowId === id).map((r) => r.method);
    expect(by(plain)).toContain('activity:registerOrder');
    expect(by(resend)).toContain('activity:revokeLinks');
    expect(by(purge)).toContain('activity:collect');
    expect(by(cancel)).toContain('activity:revokeLinks');
    for (const row of refused) {
      expect(row).toMatchObject({ actor: 'worker', detail: { reason: 'another workflow' } });
      expect(JSON.stringify(row)).not.toMatch(/attacker-|@/);
    }
  });

  it('cannot register an order that does not exist yet under a foreign id', async () => {
    const orderId = uniqueOrderId('instant');
    const recipient = uniqueRecipient();
    const workflowId = `early-${randomUUID().slice(0, 8)}`;
    const handle = await p.client.workflow.start<OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
      taskQueue: p.taskQueue,
      workflowId,
      args: [attackerInput(orderId, recipient)],
    });
    expect(refusalType(await handle.result().catch((e: unknown) => e))).toBe(ORDER_OWNERSHIP_REFUSED);
    expect((await rowsOf(orderId)).order).toEqual([]);
    expect(await refusals(orderId)).toMatchObject([{ detail: { workflowId, reason: 'not the order id' } }]);
    await expectNoMail([recipient]);
    // The order's own workflow, started afterwards, is not held up by it.
    const email = uniqueRecipient();
    await p.start({ orderId, userId: 'customer', email });
    await waitForStatus(p.client, orderId, (s) => s.phase === 'delivered');
    expect(await waitForMail(email)).toHaveLength(1);
  });
});

describe("a new workflow under the order's own id, after its workflow was terminated", () => {
  it('is refused as another run; the ops CLI purges directly instead of signalling one that is not its own', async () => {
    const { orderId, email, link } = await deliveredOrder();
    const workflowId = workflowIdFor(orderId);
    await p.client.workflow.getHandle(workflowId).terminate('test: the attacker terminates the order');
    const before = await rowsOf(orderId);
    const attacker = `attacker-${randomUUID().slice(0, 8)}@example.test`;

    const update = await p.client.workflow
      .executeUpdateWithStart(resendLinkUpdate, {
        args: [{ recipient: attacker }],
        startWorkflowOperation: new WithStartWorkflowOperation<OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
          taskQueue: p.taskQueue,
          workflowId,
          args: [attackerInput(orderId, attacker), claimedState()],
          workflowIdConflictPolicy: 'FAIL',
        }),
      })
      .catch((e: unknown) => e);
    expect(refusalType(update)).toBe(ORDER_OWNERSHIP_REFUSED);
    expect(
      refusalType(
        await p.client.workflow
          .getHandle(workflowId)
          .result()
          .catch((e: unknown) => e),
      ),
    ).toBe(ORDER_OWNERSHIP_REFUSED);
    await expectNoMail([attacker]);
    expect(await rowsOf(orderId)).toEqual(before);
    expect((await fetch(link)).status).toBe(200);
    expect((await refusals(orderId)).map((r) => r.detail.reason)).toContain('another run');

    // One more, left running (no worker polls its queue): the operator's purge must not go to it.
    const impostor = await p.client.workflow.start<OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId,
      args: [attackerInput(orderId, attacker)],
    });
    try {
      // Operators act by name, through the ops API (their own tokens): ada files the purge, alan approves it.
      const [ada, alan] = await Promise.all([operatorToken('ada'), operatorToken('alan')]);
      const ops = (token: string, ...args: string[]) =>
        promisify(execFile)('npx', ['tsx', 'scripts/ops.ts', ...args], {
          cwd: repoRoot,
          env: { ...process.env, LOG_FILE: '', OPERATOR_TOKEN: token },
        });
      const cancel = await ops(ada, 'cancel', '--order-id', orderId).catch((e: { stderr: string }) => e);
      expect(cancel.stderr).toContain('the workflow running under its id is not the one registered for it');
      // Cards the customer has not retrieved: a second operator must approve their purge.
      const filed = await ops(ada, 'purge', '--order-id', orderId);
      const approvalId = /request id: (\S+)/.exec(filed.stdout)?.[1];
      expect(approvalId).toBeDefined();
      expect((await rowsOf(orderId)).cards).toHaveLength(3);
      const { stdout } = await ops(alan, 'approve', approvalId!);
      expect(stdout).toContain('Purged directly');
      expect(stdout).toMatch(/3 card\(s\)/);
      const history = await impostor.fetchHistory();
      expect(history.events?.some((e) => e.workflowExecutionSignaledEventAttributes)).toBe(false);
    } finally {
      await impostor.terminate('test: done');
    }
    expect((await rowsOf(orderId)).cards).toEqual([]);
    expect((await fetch(link)).status).not.toBe(200);
    expect(await mailFor(email)).toHaveLength(1);
  });
});

describe('the retention steps', () => {
  it('run only for the retention sweep: a giftCardOrder asking is refused and audited', async () => {
    const deps = await retentionDeps(config());
    try {
      const workflowId = `rogue-${randomUUID().slice(0, 8)}`;
      const env = new MockActivityEnvironment({
        workflowExecution: { workflowId, runId: 'r' },
        workflowType: ORDER_WORKFLOW_TYPE,
      });
      const err = await env
        .run(createRetentionActivities(deps).purgeDueOrders, { batchSize: 10 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).type).toBe(ORDER_OWNERSHIP_REFUSED);
      const { rows } = await p.db.query(
        `SELECT actor, method FROM audit_log WHERE event = 'OWNERSHIP_REFUSED' AND detail->>'workflowId' = $1`,
        [workflowId],
      );
      expect(rows).toEqual([{ actor: 'retention', method: 'activity:purgeDueOrders' }]);
    } finally {
      await deps.close();
    }
  });
});
