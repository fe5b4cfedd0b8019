/**
 * Processes that outlive their dependencies' hiccups, on the real services: a database backend killed
 * under a checked-out connection costs the transaction, not the process; a process that starts while
 * Vault does not answer waits for it (saying so) instead of exiting; a retried notice is sent once.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { workflowIdFor } from '../../contracts/order';
import { buildOrderInput, defaultPolicy, startOrder } from '../../domain/orders';
import { config, repoRoot } from '../../lib/config';
import { createPool, type Db, withTransaction } from '../../lib/db';
import { connectClient, createCodec } from '../../lib/temporal';
import { connectVault, VaultError } from '../../lib/vault';
import { fulfillmentDeps } from '../../workers/deps';
import { auditRows } from '../helpers/audit';
import { fixturePool, fixtureUrl } from '../helpers/fixture-db';
import { linkIn, mailFor, waitForMail } from '../helpers/mailbox';
import { asOrderWorkflow, waitForStatus } from '../helpers/orders';
import {
  FAST_POLLING,
  FAST_POLLING_BOUNDS,
  runFulfillmentWorker,
  startPipeline,
  uniqueOrderId,
  uniqueRecipient,
} from '../helpers/pipeline';
import { registerScenario, sandboxOrder } from '../helpers/sandbox';

let db: Db;
beforeAll(() => {
  db = fixturePool();
});
afterAll(async () => {
  await db?.end();
});

describe('PostgreSQL', () => {
  it('a backend terminated under a checked-out client (57P01) fails that transaction; the process lives on', async () => {
    const pool = createPool(fixtureUrl(), 2);
    try {
      const inFlight = withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        // Killed while this transaction waits on something else, as under a server restart.
        await db.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await new Promise((r) => setTimeout(r, 300));
        return tx.query('SELECT 1');
      });
      await expect(inFlight).rejects.toThrow();
      // Still here (an unhandled 'error' event would have ended this process), and the pool works.
      const { rows } = await pool.query<{ ok: number }>('SELECT 1 AS ok');
      expect(rows[0]!.ok).toBe(1);
    } finally {
      await pool.end();
    }
  });
});

describe('Vault', () => {
  it('a process starting while Vault does not answer waits for it, then logs in', async () => {
    // A port where nothing answers yet; a forwarder to the real Vault opens on it 2 s later.
    const target = new URL(config().VAULT_ADDR);
    const proxy = net.createServer((socket) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      const close = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close);
      upstream.on('error', close);
    });
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const t0 = Date.now();
    setTimeout(() => proxy.listen(port, '127.0.0.1'), 2_000);
    const session = await connectVault('api', { addr: `http://127.0.0.1:${port}`, startupWaitMs: 30_000 });
    try {
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_900);
      const [ct] = await session.transit
        .encryptBatch(`cards-${new Date().toISOString().slice(0, 7)}`, [{ plaintext: 'x', context: 'o' }])
        .catch(() => ['refused']);
      // The API's role may not encrypt cards: a 403 from the real Vault proves the login went through.
      expect(ct).toBe('refused');
      expect(await session.transit.dataKey(config().VAULT_CODEC_KEY)).toHaveProperty('ciphertext');
    } finally {
      session.close();
      proxy.close();
    }
  });

  it('a refused login (wrong secret id) fails at once: waiting would not change it', async () => {
    const t0 = Date.now();
    await expect(
      connectVault('api', {
        env: { API_VAULT_ROLE_ID: process.env.API_VAULT_ROLE_ID, API_VAULT_SECRET_ID: randomUUID() },
        startupWaitMs: 30_000,
      }),
    ).rejects.toBeInstanceOf(VaultError);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('the payload codec', () => {
  it('once ready, encodes through a Vault outage (the worker would otherwise die encoding a failure)', async () => {
    const session = await connectVault('worker');
    try {
      // The real Vault behind a switch: down after the first codec got its key.
      let down = false;
      const keys = {
        dataKey: (name: string) =>
          down
            ? Promise.reject(new VaultError('Vault unreachable (ECONNREFUSED)'))
            : session.transit.dataKey(name),
        unwrapDataKey: (name: string, wrapped: string) => session.transit.unwrapDataKey(name, wrapped),
      };
      const payload = {
        metadata: { encoding: new TextEncoder().encode('json/plain') },
        data: new Uint8Array([1]),
      };
      const ready = createCodec(keys);
      await ready.ready();
      const unready = createCodec(keys);
      down = true;
      const [encoded] = await ready.encode([payload]);
      expect(new TextDecoder().decode(encoded!.metadata!.encoding!)).toBe('binary/encrypted');
      await expect(unready.encode([payload])).rejects.toBeInstanceOf(VaultError);
    } finally {
      session.close();
    }
  });
});

describe('notices', () => {
  it('a retried notify sends one email and writes one audit row', async () => {
    const deps = await fulfillmentDeps(config());
    try {
      const orderId = `notice-${randomUUID().slice(0, 12)}`;
      const recipient = uniqueRecipient();
      const activities = createActivities(deps);
      const run = asOrderWorkflow(orderId);
      await run(activities.registerOrder, {
        orderId,
        firstRunId: 'notice-test',
        userId: 'u',
        caller: null,
        policy: defaultPolicy(config()),
      });
      const notice = {
        orderId,
        firstRunId: 'notice-test',
        recipient,
        kind: 'failed' as const,
        deliveredCards: 0,
        quantity: 3,
      };
      await run(activities.notifyCustomer, notice);
      await run(activities.notifyCustomer, notice);
      await expect.poll(async () => (await mailFor(recipient)).length).toBe(1);
      await new Promise((r) => setTimeout(r, 500));
      const mails = await mailFor(recipient);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.text).toContain('No card could be delivered.');
      expect(mails[0]!.text).not.toMatch(/charged|refund/i);
      expect((await auditRows(db, orderId)).filter((r) => r.event === 'NOTIFIED')).toHaveLength(1);
      // Another kind is another notice.
      await run(activities.notifyCustomer, { ...notice, kind: 'cancelled' });
      await expect.poll(async () => (await mailFor(recipient)).length).toBe(2);
    } finally {
      await deps.close();
    }
  });
});

describe('a retried first poll', () => {
  it('that stored the cards and sent the link stores, audits and sends nothing twice', async () => {
    const cfg = config();
    const deps = await fulfillmentDeps(cfg);
    try {
      const orderId = uniqueOrderId('instant');
      const recipient = uniqueRecipient();
      const step = { orderId, firstRunId: 'poll-retry' };
      const poll = {
        ...step,
        register: { ...step, userId: 'u', caller: null, policy: defaultPolicy(cfg) },
        knownStored: 0,
        knownStatus: null,
        pollInitialMs: 200,
        pollMaxMs: 1_000,
        deliverWhenComplete: {
          deliveryId: `${orderId}#1`,
          recipient,
          linkTtlMs: 3_600_000,
          retentionMs: 3_600_000,
          deliveredCards: 0,
        },
      };
      const { collect } = createActivities(deps);
      const run = asOrderWorkflow(orderId);
      const first = await run(collect, poll);
      expect(first).toMatchObject({ status: 'FULFILLED', newlyStored: first.quantity });
      expect(first.stored).toBe(first.quantity);
      expect(first.delivery).toMatchObject({ cardCount: first.quantity, finished: true });
      // The same attempt again, as after a worker lost before its answer reached Temporal.
      const again = await run(collect, poll);
      expect(again).toMatchObject({ stored: first.quantity, newlyStored: first.quantity });
      expect(again.delivery).toEqual({ ...first.delivery, finished: undefined });

      const { rows } = await deps.db.query<{ cards: number; outcome: string; tokens: number }>(
        `SELECT (SELECT count(*)::int FROM cards WHERE order_id = $1) AS cards,
           (SELECT count(*)::int FROM delivery_tokens WHERE order_id = $1) AS tokens, outcome
         FROM orders WHERE order_id = $1`,
        [orderId],
      );
      expect(rows[0]).toEqual({ cards: first.quantity, tokens: 1, outcome: 'DELIVERED' });
      const events = (await auditRows(db, orderId)).map((r) => r.event);
      expect(events).toEqual(['ORDER_STARTED', 'CARDS_STORED', 'DELIVERED']);
      await new Promise((r) => setTimeout(r, 500));
      expect(await mailFor(recipient)).toHaveLength(1);
    } finally {
      await deps.close();
    }
  });
});

describe('a retried delivery', () => {
  it('whose first email may have gone out sends a second that says it replaces it; only the new link works', async () => {
    // A pipeline of the test's own (worker, API), so the order, its links and the pages share one database.
    const p = await startPipeline();
    const deps = await fulfillmentDeps(config());
    deps.publicBaseUrl = p.apiUrl;
    try {
      // A real order, delivered once.
      const email = uniqueRecipient();
      const orderId = uniqueOrderId('instant');
      await p.start({ orderId, userId: 'u', email });
      const delivered = await waitForStatus(p.client, orderId, (s) => s.phase === 'delivered');
      const deliveryId = delivered.deliveries[0]!.id;
      const first = linkIn((await waitForMail(email))[0]!);
      // As if the worker died after sending but before recording it: the activity runs again. (As the
      // schema owner: no component may reopen a sent delivery, deliveries_sent_once.)
      await db.query('UPDATE deliveries SET sent_at = NULL WHERE id = $1', [deliveryId]);
      // As the order's own workflow: its id, and the first run its registration recorded.
      const { raw } = await p.client.workflow.getHandle(workflowIdFor(orderId)).describe();
      await asOrderWorkflow(orderId)(createActivities(deps).deliver, {
        orderId,
        firstRunId: raw.workflowExecutionInfo?.firstRunId ?? '',
        deliveryId,
        recipient: email,
        kind: 'batch',
        linkTtlMs: 3_600_000,
        retentionMs: 3_600_000,
      });
      const mails = await waitForMail(email, 2);
      const second = mails.find((m) => linkIn(m) !== first)!;
      expect(second.text).toContain('This email replaces an earlier one about the same gift cards');
      expect(mails.find((m) => linkIn(m) === first)!.text).not.toContain('replaces');
      expect((await fetch(first)).status).toBe(410);
      expect((await fetch(linkIn(second))).status).toBe(200);
    } finally {
      await deps.close();
      await p.stop();
    }
  });
});

describe('a worker killed mid-step', () => {
  it('its order moves again on another worker within 15 s (heartbeats, not a 2-minute timeout)', async () => {
    const cfg = config();
    const taskQueue = `killed-${randomUUID()}`;
    const orderId = uniqueOrderId('slow-response');
    // The provider takes 8 s to answer the first poll: the worker is killed while it waits.
    await registerScenario(orderId, 'slow-response', { delayMs: 8_000 });
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/run-fulfillment.ts'], {
      cwd: repoRoot,
      env: { ...process.env, TEMPORAL_TASK_QUEUE: taskQueue, LOG_FILE: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const client = await connectClient({ component: 'api' });
    let replacement: { stop(): Promise<void> } | undefined;
    let deps: Awaited<ReturnType<typeof fulfillmentDeps>> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('"msg":"worker started"')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it started`)));
      });
      const input = buildOrderInput(
        { orderId, userId: 'u', email: uniqueRecipient(), policy: FAST_POLLING },
        defaultPolicy(cfg),
        { pollBounds: FAST_POLLING_BOUNDS },
      );
      await startOrder(client, input, taskQueue);
      await expect
        .poll(async () => (await sandboxOrder(orderId)).polls, { timeout: 30_000 })
        .toBeGreaterThanOrEqual(1);
      child.kill('SIGKILL');
      const killedAt = Date.now();
      deps = await fulfillmentDeps(cfg);
      replacement = await runFulfillmentWorker(taskQueue, deps);
      await waitForStatus(client, orderId, (s) => s.phase === 'delivered', 60_000);
      const moved = Date.now() - killedAt;
      console.log(`worker killed mid-poll: its order was delivered by another worker ${moved} ms later`);
      expect(moved).toBeLessThan(15_000);
    } finally {
      child.kill('SIGKILL');
      await replacement?.stop();
      await deps?.close();
      await client.connection.close();
    }
  });
});
