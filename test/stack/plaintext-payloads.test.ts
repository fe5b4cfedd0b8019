/**
 * Workers refuse payloads the project's codec did not encrypt (DESIGN 3.10). The attacker is anyone with
 * access to the Temporal namespace but not to the codec: the Temporal CLI, the UI's "Start Workflow" or
 * "Signal" without a codec endpoint, a raw SDK client. Here that is a client with Temporal's default data
 * converter, against the real server and a worker with the production codec. Each attack is shown to
 * change nothing: no row, no audit entry, no provider call, no mail, no state change, and no failed
 * workflow task (a payload stays in history, so a task that failed on it would fail forever).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AsyncCompletionClient,
  Client,
  Connection,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  extendRetentionSignal,
  ORDER_WORKFLOW_TYPE,
  type OrderStatusView,
  statusQuery,
  workflowIdFor,
} from '../../contracts/order';
import { buildOrderInput, defaultPolicy } from '../../domain/orders';
import { config, repoRoot } from '../../lib/config';
import { connectionOptions, temporalTarget } from '../../lib/temporal';
import { auditRows } from '../helpers/audit';
import { mailFor, waitForMail } from '../helpers/mailbox';
import { settled, waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';
import { registerScenario, sandboxOrder } from '../helpers/sandbox';

let p: Pipeline;
let raw: Client;
const utf8 = (s: string) => new TextEncoder().encode(s);

beforeAll(async () => {
  p = await startPipeline();
  // No data converter: payloads go out as Temporal's default JSON, exactly as the CLI and the UI send them
  // (over the stack's TLS settings, when its Temporal wants a client certificate).
  raw = new Client({
    connection: await Connection.connect(connectionOptions(temporalTarget())),
    namespace: config().TEMPORAL_NAMESPACE,
  });
});

afterAll(async () => {
  await raw?.connection.close();
  await p?.stop();
});

async function events(workflowId: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
  const res = await p.client.workflowService.getWorkflowExecutionHistory({
    namespace: config().TEMPORAL_NAMESPACE,
    execution: { workflowId },
  });
  return res.history?.events ?? [];
}

const has = (
  evs: temporal.api.history.v1.IHistoryEvent[],
  key: keyof temporal.api.history.v1.IHistoryEvent,
) => evs.filter((e) => e[key] != null).length;

function testLog(): string {
  return readFileSync(path.join(repoRoot, '.data', 'test', 'logs', 'app.log'), 'utf8');
}

describe('a client without the codec', () => {
  it('cannot start an order: the workflow fails at once, nothing of the order is touched', async () => {
    const orderId = uniqueOrderId('instant');
    const email = uniqueRecipient();
    const input = buildOrderInput({ orderId, userId: 'plaintext-user', email }, defaultPolicy(config()));
    const canary = `PLAINTEXT-START-${orderId}`;
    const handle = await raw.workflow.start(ORDER_WORKFLOW_TYPE, {
      taskQueue: p.taskQueue,
      workflowId: workflowIdFor(orderId),
      args: [{ ...input, note: canary }],
    });

    const failure = await handle.result().then(
      () => expect.fail('a plaintext start ran'),
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    // Readable to the client that sent it, which has no codec: it says what and why, not the payload.
    expect(cause.type).toBe('PayloadRefused');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(
      /^workflow input refused: payload refused: not encrypted by the project's payload codec \(its encoding is "json\/plain"\)/,
    );
    expect(cause.message).not.toContain(email);

    const evs = await events(workflowIdFor(orderId));
    expect(has(evs, 'workflowTaskFailedEventAttributes')).toBe(0);
    expect(has(evs, 'activityTaskScheduledEventAttributes')).toBe(0);
    expect(await auditRows(p.db, orderId)).toEqual([]);
    const { rows } = await p.db.query('SELECT 1 FROM orders WHERE order_id = $1', [orderId]);
    expect(rows).toEqual([]);
    expect((await sandboxOrder(orderId)).polls).toBe(0);
    expect(await mailFor(email)).toEqual([]);
    expect(testLog()).not.toContain(canary);
  });

  it('cannot signal an order: the signal is dropped, the order goes on and still obeys real signals', async () => {
    const orderId = uniqueOrderId('instant');
    const email = uniqueRecipient();
    await p.start({ orderId, userId: 'plaintext-user', email });
    await waitForStatus(p.client, orderId, settled);
    await waitForMail(email);
    const workflowId = workflowIdFor(orderId);
    const before: OrderStatusView = await p.client.workflow.getHandle(workflowId).query(statusQuery);
    expect(before).toMatchObject({ phase: 'delivered', outcome: 'DELIVERED' });
    const auditBefore = await auditRows(p.db, orderId);
    const canary = `PLAINTEXT-SIGNAL-${orderId}`;

    const attacker = raw.workflow.getHandle(workflowId);
    await attacker.signal('cancel', { reason: canary });
    await attacker.signal('extendRetention', { by: '400d' });
    // Claims to be encrypted, but is not: no key, no valid ciphertext.
    await raw.workflowService.signalWorkflowExecution({
      namespace: config().TEMPORAL_NAMESPACE,
      workflowExecution: { workflowId },
      signalName: 'cancel',
      input: { payloads: [{ metadata: { encoding: utf8('binary/encrypted') }, data: utf8(canary) }] },
      identity: 'plaintext-test',
    });

    // Each signal reached the workflow and was handled in a task that completed.
    await expect
      .poll(async () => {
        const evs = await events(workflowId);
        const signalled = evs.map((e) => Boolean(e.workflowExecutionSignaledEventAttributes));
        const lastSignal = signalled.lastIndexOf(true);
        return {
          signals: signalled.filter(Boolean).length,
          completedAfter: evs.slice(lastSignal).some((e) => e.workflowTaskCompletedEventAttributes),
        };
      })
      .toEqual({ signals: 3, completedAfter: true });
    expect(has(await events(workflowId), 'workflowTaskFailedEventAttributes')).toBe(0);

    // Nothing changed: no cancellation, no revoked link, the same purge time, the same audit trail.
    expect(await p.client.workflow.getHandle(workflowId).query(statusQuery)).toEqual(before);
    expect(await auditRows(p.db, orderId)).toEqual(auditBefore);

    // The refusals are logged by signal name and reason, never with the payload.
    const refusals = testLog()
      .split('\n')
      .filter((l) => l.includes('signal refused') && l.includes(workflowId));
    expect(refusals).toHaveLength(3);
    expect(refusals.join('\n')).toContain('not encrypted by the project');
    expect(refusals.join('\n')).toContain('without its key metadata');
    expect(testLog()).not.toContain(canary);

    // Not wedged: a real signal, through the codec, still moves the purge time.
    await p.client.workflow.getHandle(workflowId).signal(extendRetentionSignal, { by: '1d' });
    const extended = await waitForStatus(p.client, orderId, (s) => s.purgeAt !== before.purgeAt);
    expect(Date.parse(extended.purgeAt!) - Date.parse(before.purgeAt!)).toBe(86_400_000);
  });

  it('cannot resend a link elsewhere: the update is rejected before it is accepted, nothing is sent', async () => {
    const orderId = uniqueOrderId('instant');
    const email = uniqueRecipient();
    await p.start({ orderId, userId: 'plaintext-user', email });
    await waitForStatus(p.client, orderId, settled);
    await waitForMail(email);
    const workflowId = workflowIdFor(orderId);
    const auditBefore = await auditRows(p.db, orderId);
    const thief = uniqueRecipient();

    const failure = await raw.workflow
      .getHandle(workflowId)
      .executeUpdate('resendLink', { args: [{ recipient: thief, requestedBy: 'operator' }] })
      .then(
        () => expect.fail('a plaintext update ran'),
        (err: unknown) => err,
      );
    expect(failure).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (failure as WorkflowUpdateFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('PayloadRefused');
    expect(cause.message).toMatch(/^update "resendLink" refused: payload refused: not encrypted/);
    expect(cause.message).not.toContain(thief);

    // A query with a plaintext argument fails the same way; the order answers the codec's client as before.
    await expect(raw.workflow.getHandle(workflowId).query('status', { any: 'thing' })).rejects.toThrow(
      /query "status" refused: payload refused/,
    );

    const evs = await events(workflowId);
    expect(has(evs, 'workflowExecutionUpdateAcceptedEventAttributes')).toBe(0);
    expect(has(evs, 'workflowTaskFailedEventAttributes')).toBe(0);
    expect(await auditRows(p.db, orderId)).toEqual(auditBefore);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await mailFor(thief)).toEqual([]);
    expect(await mailFor(email)).toHaveLength(1);
    const status: OrderStatusView = await p.client.workflow.getHandle(workflowId).query(statusQuery);
    expect(status.phase).toBe('delivered');
  });

  it("cannot answer for the worker's activity: the order fails with the refusal instead of using it", async () => {
    const orderId = uniqueOrderId('slow-response');
    await registerScenario(orderId, 'slow-response', { delayMs: 5_000 });
    const email = uniqueRecipient();
    await p.start({ orderId, userId: 'plaintext-user', email });
    const handle = p.client.workflow.getHandle(workflowIdFor(orderId));
    // The first poll hangs on the provider: complete it from outside (`temporal activity complete`).
    let activityId = '';
    await expect
      .poll(async () => {
        const pending = (await handle.describe()).raw.pendingActivities?.[0];
        activityId = pending?.activityId ?? '';
        return pending?.state;
      })
      .toBe(temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
    const completion = new AsyncCompletionClient({
      connection: raw.connection,
      namespace: config().TEMPORAL_NAMESPACE,
    });
    await completion.complete(
      { workflowId: handle.workflowId, activityId },
      { status: 'FULFILLED', quantity: 3, stored: 3, new: 3 },
    );

    const failure = await handle.result().then(
      () => expect.fail('a plaintext activity result was used'),
      (err: unknown) => err,
    );
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('PayloadRefused');
    expect(cause.message).toMatch(/^result of activity collect refused: payload refused: not encrypted/);
    expect(has(await events(handle.workflowId), 'workflowTaskFailedEventAttributes')).toBe(0);
    expect(await mailFor(email)).toEqual([]);
  });

  it("writes payloads that the project's own clients refuse to read", async () => {
    // The API's and the CLIs' client (with the codec) describing a workflow a plaintext client started.
    const id = `plaintext-probe-${uniqueOrderId('probe')}`;
    const handle = await raw.workflow.start('plaintextProbe', {
      taskQueue: `no-worker-${id}`,
      workflowId: id,
      args: [{ note: 'plain' }],
      memo: { note: 'plain' },
    });
    try {
      await expect(p.client.workflow.getHandle(id).describe()).rejects.toThrow(
        /payload refused: not encrypted by the project's payload codec/,
      );
    } finally {
      await handle.terminate('probe done');
    }
  });
});
