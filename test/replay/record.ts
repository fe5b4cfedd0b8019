/**
 * Records the histories the replay tests replay (test/unit/replay.test.ts): every branch of an order's life,
 * run for real on the local stack (Temporal, Vault, PostgreSQL, the provider sandbox, a fulfillment worker
 * and the API in this process, a mail server of its own that refuses `refused-…`, delays `slow-…`, and holds
 * its acknowledgement of a message to `hold-…` after it has it).
 *
 *   npm run histories:record      (the stack up)
 *
 * Each history is decoded through the codec and scrubbed (test/replay/histories.ts), checked for every card,
 * token and address its order saw, and written to test/replay/histories/<date>-<commit>/ with recorded.json.
 * Record a new folder when the story changes; never rewrite an old one: open orders still have those histories.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createActivities } from '../../activities';
import {
  cancelSignal,
  checkNowSignal,
  extendRetentionSignal,
  ORDER_WORKFLOW_TYPE,
  type OrderPolicy,
  type OrderState,
  type OrderStatusView,
  purgeNowSignal,
  resendLinkUpdate,
  STARTING_SEARCH_ATTRIBUTES,
  statusQuery,
  workflowIdFor,
} from '../../contracts/order';
import { buildOrderInput, defaultPolicy, resendLink } from '../../domain/orders';
import { config, repoRoot } from '../../lib/config';
import { createCodec } from '../../lib/temporal';
import { connectVault, type VaultSession } from '../../lib/vault';
import { fulfillmentDeps } from '../../workers/deps';
import { newState } from '../../workflows/order-state';
import { type AcceptedMail, startMailServer } from '../helpers/mail-server';
import { asOrderWorkflow, waitForStatus } from '../helpers/orders';
import {
  FAST_POLLING,
  FAST_POLLING_BOUNDS,
  type Pipeline,
  startPipeline,
  uniqueOrderId,
} from '../helpers/pipeline';
import { startRetentionWorker } from '../helpers/retention';
import { registerScenario, sandboxOrder } from '../helpers/sandbox';
import { type Receiver, startReceiver } from '../helpers/webhook-receiver';
import { historiesDir, type Recording, readableHistory } from './histories';

/** Timers short enough that every branch runs to its end (the purge) within seconds. */
const SHORT: Partial<OrderPolicy> = { linkTtl: '4s', retention: '6s' };
const CUSTOMER = 'customer@example.test';
const CORRECTED = 'corrected@example.test';

const commit = execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], { cwd: repoRoot }).toString().trim();
const folder = `${new Date().toISOString().slice(0, 10)}-${commit}`;
const recording: Recording = { code: commit, recordedAt: new Date().toISOString(), branches: {} };

let p: Pipeline;
let vault: VaultSession;
let codec: ReturnType<typeof createCodec>;
let smtp: Awaited<ReturnType<typeof startMailServer>>;
let mails: AcceptedMail[] = [];
const receivers: Record<'main' | 'gone' | 'failing', Receiver> = {} as never;
let retention: Awaited<ReturnType<typeof startRetentionWorker>>;
let deps: Awaited<ReturnType<typeof fulfillmentDeps>>;

beforeAll(async () => {
  smtp = await startMailServer({
    refuse: (address) =>
      address.startsWith('refused-') ? { code: 550, text: '5.1.1 no such user' } : undefined,
    delayMs: (address) => (address.startsWith('slow-') ? 4_000 : 0),
    // The link is out, but the step that sent it has not heard so: the customer can be faster.
    holdMs: (to) => (to.some((a) => a.startsWith('hold-')) ? 3_000 : 0),
  });
  mails = smtp.accepted;
  receivers.main = await startReceiver();
  receivers.gone = await startReceiver();
  receivers.gone.status = 410;
  receivers.failing = await startReceiver();
  receivers.failing.status = 500;
  p = await startPipeline({
    smtpUrl: smtp.url,
    webhookEndpoints: new Map(Object.entries(receivers).map(([c, r]) => [c, r.endpoint()])),
  });
  vault = await connectVault('api');
  codec = createCodec(vault.transit);
  retention = await startRetentionWorker();
  deps = await fulfillmentDeps(config());
});

afterAll(async () => {
  if (Object.keys(recording.branches).length > 0) {
    const sorted = Object.fromEntries(
      Object.entries(recording.branches).sort(([a], [b]) => a.localeCompare(b)),
    );
    writeFileSync(
      path.join(historiesDir, folder, 'recorded.json'),
      `${JSON.stringify({ ...recording, branches: sorted }, null, 2)}\n`,
    );
  }
  await p?.stop();
  await retention?.stop();
  await deps?.close();
  vault?.close();
  for (const r of Object.values(receivers)) await r?.stop();
  await smtp?.close();
});

// ---------------------------------------------------------------- what every branch shares

interface Run {
  orderId: string;
  recipient: string;
  handle: WorkflowHandle;
  until(ok: (s: OrderStatusView) => boolean): Promise<OrderStatusView>;
}

interface OrderBranch {
  scenario: string;
  /** Sandbox options (registered before the order starts). */
  sandbox?: Record<string, unknown>;
  policy?: Partial<OrderPolicy>;
  caller?: keyof typeof receivers;
  /** The address's prefix: `refused-` or `slow-` for this recorder's mail server. */
  recipientPrefix?: string;
  /** What happens to the order after its start, before it runs to its end. */
  drive?: (run: Run) => Promise<void>;
}

function branch(name: string, story: string, spec: OrderBranch): void {
  it.concurrent(name, async () => {
    const orderId = uniqueOrderId(spec.scenario);
    const recipient = `${spec.recipientPrefix ?? ''}c-${randomUUID().slice(0, 8)}@example.test`;
    if (spec.sandbox) await registerScenario(orderId, spec.scenario, spec.sandbox);
    const started = await p.start(
      { orderId, userId: 'replay-user', email: recipient, policy: { ...SHORT, ...spec.policy } },
      spec.caller ? { caller: spec.caller } : {},
    );
    const handle = p.client.workflow.getHandle(started.workflowId);
    await spec.drive?.({
      orderId,
      recipient,
      handle,
      until: (ok) => waitForStatus(p.client, orderId, ok, 60_000),
    });
    await save(name, story, orderId, handle, [recipient, CORRECTED]);
  });
}

/** Waits for the run to end, then writes its readable history, refusing one that holds a secret. */
async function save(
  name: string,
  story: string,
  orderId: string,
  handle: WorkflowHandle,
  recipients: string[],
): Promise<void> {
  await handle.result().catch(() => undefined);
  const raw = historyToJSON(await handle.fetchHistory());
  const text = await readableHistory(raw, codec, scrubberFor(name, orderId, recipients));
  const secrets = [
    orderId,
    ...recipients.filter((r) => r !== CORRECTED),
    ...(await secretsOf(orderId, recipients)),
  ];
  const leaked = secrets.filter((s) => text.includes(s));
  if (leaked.length)
    throw new Error(`${name}: the scrubbed history still holds ${leaked.length} secret value(s)`);
  mkdirSync(path.join(historiesDir, folder), { recursive: true });
  writeFileSync(path.join(historiesDir, folder, `${name}.json`), `${text}\n`);
  recording.branches[name] = { workflowId: workflowIdFor(`replay-${name}`), story };
}

/** The order's ids, addresses, run ids and this machine's names become test values, the same way throughout. */
function scrubberFor(name: string, orderId: string, recipients: string[]) {
  const uuids = new Map<string, string>();
  const host = os.hostname();
  return (text: string) => {
    let out = text.split(orderId).join(`replay-${name}`);
    for (const r of recipients) out = out.split(r).join(r === CORRECTED ? CORRECTED : CUSTOMER);
    out = out.split(repoRoot).join('/repo').split(host).join('recorder');
    return out.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => {
      if (!uuids.has(u)) uuids.set(u, `00000000-0000-4000-8000-${String(uuids.size + 1).padStart(12, '0')}`);
      return uuids.get(u) as string;
    });
  };
}

/** Every card value and serial the sandbox issued for the order, and every link token mailed for it. */
async function secretsOf(orderId: string, recipients: string[]): Promise<string[]> {
  const sandbox = await sandboxOrder(orderId).catch(() => null);
  const cards = (sandbox?.cards ?? []).flatMap((c) => [c.value, c.serial]);
  const tokens = mails
    .filter((m) => m.to.some((t) => recipients.includes(t)))
    .flatMap((m) => [...unfolded(m.raw).matchAll(/\/d\/([A-Za-z0-9_-]{43})/g)].map((x) => x[1] as string));
  return [...cards, ...tokens];
}

const unfolded = (raw: string) => raw.replace(/=\r?\n/g, '');

/** The link of the recipient's `n`th email (1-based), once it arrived. */
async function linkOf(recipient: string, n = 1): Promise<string> {
  const until = Date.now() + 30_000;
  for (;;) {
    const theirs = mails.filter((m) => m.to.includes(recipient));
    const link =
      theirs[n - 1] && unfolded(theirs[n - 1]!.raw).match(/http:\/\/[^\s"<>]+\/d\/[A-Za-z0-9_-]{43}/);
    if (link) return link[0];
    if (Date.now() > until) throw new Error(`no link email number ${n} for the order`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function reveal(link: string): Promise<void> {
  const res = await fetch(`${link}/reveal`, { method: 'POST', redirect: 'manual' });
  if (res.status !== 200) throw new Error(`reveal answered ${res.status}`);
}

const delivered = (s: OrderStatusView) => s.phase === 'delivered';

/** The customer reveals the link once the order has recorded it (as a customer reading the email would). */
async function revealOnceRecorded({ recipient, until }: Run): Promise<void> {
  const link = await linkOf(recipient);
  await until((s) => s.deliveries.length > 0);
  await reveal(link);
}

/** The provider was asked about the order (a poll that finds nothing new leaves the status as it was). */
async function polled(orderId: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (((await sandboxOrder(orderId).catch(() => null))?.polls ?? 0) < 1) {
    if (Date.now() > until) throw new Error('the provider was never polled for the order');
    await sleep(200);
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the branches

describe('the provider sandbox scenarios', () => {
  branch(
    'instant-revealed',
    'instant: the link with the first poll, revealed (retrieved), expired, purged at retention; webhooks to its caller',
    {
      scenario: 'instant',
      caller: 'main',
      drive: revealOnceRecorded,
    },
  );
  branch(
    'instant-purge-on-retrieval',
    'instant with purgeOnRetrieval: revealed, then purged at once (retrieved)',
    {
      scenario: 'instant',
      policy: { purgeOnRetrieval: true, retention: '1h' },
      drive: revealOnceRecorded,
    },
  );
  branch(
    'retrieved-before-recorded',
    'instant with purgeOnRetrieval: the link revealed while the poll that sent it has not reported back (patched: purged on retrieval)',
    {
      scenario: 'instant',
      policy: { purgeOnRetrieval: true, retention: '1h' },
      recipientPrefix: 'hold-',
      drive: async ({ recipient }) => reveal(await linkOf(recipient)),
    },
  );
  branch('slow', 'slow: PENDING and PROCESSING polls, then FULFILLED; the link never opened', {
    scenario: 'slow',
  });
  branch('partial-then-full', 'partial-then-full: one link at FULFILLED for every card', {
    scenario: 'partial-then-full',
  });
  branch(
    'partial-then-full-batches',
    'partial-then-full with deliverPartial: a link per batch, webhooks to its caller',
    {
      scenario: 'partial-then-full',
      policy: { deliverPartial: true },
      caller: 'main',
    },
  );
  branch(
    'partial-then-failed',
    'partial-then-failed: the issued cards linked, PARTIALLY_DELIVERED, a notice',
    {
      scenario: 'partial-then-failed',
    },
  );
  branch('partial-forever-deadline', 'partial-forever: the deadline passes with some cards stored', {
    scenario: 'partial-forever',
    policy: { deadline: '3s' },
  });
  branch('never-deadline', 'never: the deadline passes with no card, FAILED, a notice', {
    scenario: 'never',
    policy: { deadline: '2s' },
  });
  for (const scenario of [
    'failed',
    'cancelled',
    'flaky',
    'rate-limited',
    'reset',
    'malformed',
    'unknown-status',
    'unauthorized',
    'not-found',
  ])
    branch(`provider-${scenario}`, `the provider's ${scenario} scenario`, { scenario });
  branch(
    'provider-slow-response',
    "the provider's slow-response scenario (3 s answers, heartbeats meanwhile)",
    {
      scenario: 'slow-response',
      sandbox: { delayMs: 3_000 },
    },
  );
});

describe('what operators, callers and customers do', () => {
  branch('check-now', 'slow with hour-long backoff: checkNow signals make it poll at once until FULFILLED', {
    scenario: 'slow',
    policy: { pollInitialInterval: '1h', pollMaxInterval: '1h' },
    drive: async ({ handle, until }) => {
      for (let i = 0; i < 30; i++) {
        const s = await handle.query(statusQuery);
        if (s.outcome !== null) break;
        await handle.signal(checkNowSignal);
        await sleep(700);
      }
      await until((s) => s.outcome === 'DELIVERED');
    },
  });
  branch('resend', 'delivered, then an operator resends: the live link revoked, a new one sent', {
    scenario: 'instant',
    policy: { retention: '8s' },
    drive: async ({ handle, until }) => {
      await until(delivered);
      await handle.executeUpdate(resendLinkUpdate, { args: [{ requestedBy: 'operator:replay' }] });
    },
  });
  branch(
    'recipient-correction',
    'the link email refused for good (550), then its caller corrects the recipient: a new link to it',
    {
      scenario: 'instant',
      caller: 'main',
      recipientPrefix: 'refused-',
      drive: async ({ orderId, until }) => {
        await until((s) => s.recipientRefused !== null && s.phase !== 'delivering');
        const sent = await resendLink(p.client, p.db, orderId, {
          recipient: CORRECTED,
          requestedBy: 'caller:main',
        });
        if (sent.outcome !== 'sent') throw new Error(`the correction was ${sent.outcome}`);
      },
    },
  );
  branch(
    'extend-retention',
    'delivered, then an operator extends the retention by 3 s (and a bad value is ignored)',
    {
      scenario: 'instant',
      drive: async ({ handle, until }) => {
        await until(delivered);
        await handle.signal(extendRetentionSignal, { by: 'soon', requestedBy: 'operator:replay' });
        await handle.signal(extendRetentionSignal, { by: '3s', requestedBy: 'operator:replay' });
      },
    },
  );
  branch('cancel-collecting', 'cancelled by an operator while the provider is still pending', {
    scenario: 'never',
    policy: { deadline: '1h' },
    drive: async ({ orderId, handle }) => {
      await polled(orderId);
      await handle.signal(cancelSignal, { reason: 'replay: cancelled while collecting' });
    },
  });
  branch(
    'cancel-link-in-flight',
    'cancelled while the completing link email is in flight (a slow mail server)',
    {
      scenario: 'instant',
      recipientPrefix: 'slow-',
      drive: async ({ handle }) => {
        await sleep(1_500);
        await handle.signal(cancelSignal, { reason: 'replay: cancelled with a link in flight' });
      },
    },
  );
  branch('cancel-aftercare', 'delivered, then cancelled by an operator: links revoked, cards purged', {
    scenario: 'instant',
    policy: { retention: '1h' },
    drive: async ({ handle, until }) => {
      await until(delivered);
      await handle.signal(cancelSignal, {});
    },
  });
  branch('purge-collecting', 'purgeNow while collecting: the order ends as cancelled', {
    scenario: 'never',
    policy: { deadline: '1h' },
    drive: async ({ orderId, handle }) => {
      await polled(orderId);
      await handle.signal(purgeNowSignal);
    },
  });
  branch('purge-aftercare', 'delivered, then purgeNow: the cards purged before retention', {
    scenario: 'instant',
    policy: { retention: '1h' },
    drive: async ({ handle, until }) => {
      await until(delivered);
      await handle.signal(purgeNowSignal);
    },
  });
  branch('workflow-cancelled', "the workflow itself cancelled (the UI's button) while collecting", {
    scenario: 'never',
    policy: { deadline: '1h' },
    drive: async ({ orderId, handle }) => {
      await polled(orderId);
      await handle.cancel();
    },
  });
  branch('webhooks-gone', 'its caller answers 410: the events stop', { scenario: 'instant', caller: 'gone' });
  branch(
    'webhooks-undeliverable',
    'its caller answers 500 past the events’ maximum age: each marked undeliverable',
    {
      scenario: 'instant',
      caller: 'failing',
      policy: { webhookMaxAge: '2s' },
    },
  );
});

describe('runs that are not an order’s first', () => {
  it.concurrent('continued-run', async () => {
    // What continue-as-new hands the next run (the same input, the carried state, the chain's first run id).
    // Recorded as such a run's own history: started with the carried state, the order registered by its chain.
    const orderId = uniqueOrderId('partial-then-full');
    const recipient = `c-${randomUUID().slice(0, 8)}@example.test`;
    const input = buildOrderInput(
      { orderId, userId: 'replay-user', email: recipient, policy: { ...FAST_POLLING, ...SHORT } },
      defaultPolicy(config()),
      { caller: 'main', pollBounds: FAST_POLLING_BOUNDS },
    );
    const carried: OrderState = {
      ...newState(input.policy, Date.now()),
      providerStatus: 'PROCESSING',
      polls: 40,
      webhooks: { nextSequence: 2, outbox: [], delivered: 1, undeliverable: [], stopped: null },
    };
    const handle = await p.client.workflow.start(ORDER_WORKFLOW_TYPE, {
      taskQueue: p.taskQueue,
      workflowId: workflowIdFor(orderId),
      args: [input, carried],
      startDelay: '2s',
      typedSearchAttributes: STARTING_SEARCH_ATTRIBUTES,
    });
    await asOrderWorkflow(orderId)(createActivities(deps).registerOrder, {
      orderId,
      firstRunId: handle.firstExecutionRunId,
      userId: input.userId,
      policy: input.policy,
      caller: 'main',
    });
    await save(
      'continued-run',
      'a run continued from an earlier one (carried state: collecting, 40 polls, one event sent), partial-then-full to its purge',
      orderId,
      handle,
      [recipient],
    );
  });

  it.concurrent('retention-sweep', async () => {
    const handle = await p.client.workflow.start('retentionSweep', {
      taskQueue: retention.taskQueue,
      workflowId: `retention-sweep-replay-${randomUUID()}`,
      args: [{ batchSize: 50, maxBatches: 2 }],
    });
    await handle.result();
    const raw = historyToJSON(await handle.fetchHistory());
    const text = await readableHistory(raw, codec, scrubberFor('retention-sweep', handle.workflowId, []));
    mkdirSync(path.join(historiesDir, folder), { recursive: true });
    writeFileSync(path.join(historiesDir, folder, 'retention-sweep.json'), `${text}\n`);
    recording.branches['retention-sweep'] = {
      workflowId: 'replay-retention-sweep',
      story: 'the retention sweep: due orders purged in batches, expired tokens dropped, key buckets managed',
    };
  });
});
