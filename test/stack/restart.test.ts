/**
 * Durability of the local stack across `stack.sh down` + `up --services`: Vault keys (raft storage, unsealed
 * again by the script), PostgreSQL rows and Temporal workflows (the dev server's SQLite file, or the cluster
 * profile's PostgreSQL) all survive. Without this, a
 * restart would silently lose every stored card (DESIGN 2: `-dev` mode forgets its keys).
 *
 * It stops the shared stack, so it only runs through vitest.restart.config.ts, never with the main suite.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { purgeNowSignal, statusQuery, workflowIdFor } from '../../contracts/order';
import { buildOrderInput, defaultPolicy, startOrder } from '../../domain/orders';
import { config, databaseUrl, repoRoot, stackEnvFile } from '../../lib/config';
import { connectClient, connectionOptions, temporalTarget } from '../../lib/temporal';
import { connectVault } from '../../lib/vault';
import { FAST_POLLING_BOUNDS } from '../helpers/pipeline';
import { releaseSignal, waitForRelease } from '../workflows/trivial';

// The stack script gets the environment the test started with, not the env file that config() loads.
const baseEnv = { ...process.env };
const stackScript = path.join(repoRoot, 'scripts', 'stack.sh');

/**
 * Runs the stack script without blocking the event loop: with spawnSync, keep-alive sockets that the stopped
 * servers closed stay in Node's agent pool unnoticed, and the first request after the restart hangs up.
 */
function stack(...args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    spawn('bash', [stackScript, ...args], { cwd: repoRoot, env: baseEnv, stdio: 'inherit' })
      .once('error', reject)
      .once('exit', (code) => resolve(code ?? 1));
  });
}

/** Brings the whole stack back as `npm test` found it (services and the worker/API processes). */
async function stackUp(): Promise<void> {
  const code = await stack('up');
  if (code !== 0) throw new Error(`\`bash scripts/stack.sh up\` exited ${code}`);
}

/** Retries a read while a freshly started service finishes coming up; assertions stay outside. */
async function whenReady<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The stack's env file as it is now: the restart may have minted new AppRole secret ids. */
function freshStackEnv(): NodeJS.ProcessEnv {
  const file = stackEnvFile('test');
  return parseEnv(readFileSync(file, 'utf8')) as NodeJS.ProcessEnv;
}

async function withTemporal<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect(connectionOptions(temporalTarget()));
  try {
    return await fn(new Client({ connection, namespace: config().TEMPORAL_NAMESPACE }));
  } finally {
    await connection.close();
  }
}

async function withDb<T>(url: string, fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

describe('a stack restart', () => {
  let stackIsDown = false;
  let openWorkflowId: string | undefined;

  afterAll(async () => {
    // Whatever failed, leave the stack up for everyone else, and no test workflow open on it.
    if (stackIsDown) await stackUp();
    if (openWorkflowId) {
      const id = openWorkflowId;
      await withTemporal((client) => client.workflow.getHandle(id).terminate('restart test cleanup')).catch(
        () => {},
      );
    }
  });

  it('keeps Vault keys, database rows and open workflows', async () => {
    const cfg = config();
    const orderId = `test-restart-${randomUUID()}`;
    const cardKey = `${cfg.VAULT_CARD_KEY_PREFIX}-${new Date().toISOString().slice(0, 7)}`;
    const plaintext = `RESTART-${randomUUID()}`;

    // Before: a card ciphertext (worker role), an audit row, and a workflow that stays open without a worker.
    const worker = await connectVault('worker');
    const [ciphertext] = await worker.transit.encryptBatch(cardKey, [{ plaintext, context: orderId }]);
    worker.close();
    const auditId = await withDb(databaseUrl('retention', cfg), async (db) => {
      const { rows } = await db.query<{ id: string }>(
        "INSERT INTO audit_log (order_id, event, actor, count) VALUES ($1, 'test', 'restart.test', 1) RETURNING id",
        [orderId],
      );
      return rows[0]!.id;
    });
    const taskQueue = `test-restart-${randomUUID()}`;
    const workflowId = `test-restart-${randomUUID()}`;
    const runId = await withTemporal(async (client) => {
      const handle = await client.workflow.start(waitForRelease, { taskQueue, workflowId });
      return handle.firstExecutionRunId;
    });
    openWorkflowId = workflowId;

    stackIsDown = true;
    expect(await stack('down')).toBe(0);
    await stackUp();
    stackIsDown = false;

    // After: the same data, read back through fresh connections and the decryptor's own identity.
    const env = freshStackEnv();
    const decrypted = await whenReady(async () => {
      const decryptor = await connectVault('decryptor', { env });
      try {
        return await decryptor.transit.decryptBatch(cardKey, [{ ciphertext: ciphertext!, context: orderId }]);
      } finally {
        decryptor.close();
      }
    });
    expect(decrypted).toEqual([plaintext]);

    const audit = await whenReady(() =>
      withDb(env.RETENTION_DATABASE_URL ?? databaseUrl('retention', cfg), (db) =>
        db.query('SELECT id, event, actor, count FROM audit_log WHERE order_id = $1', [orderId]),
      ),
    );
    expect(audit.rows).toEqual([{ id: auditId, event: 'test', actor: 'restart.test', count: 1 }]);

    const description = await whenReady(() =>
      withTemporal((client) => client.workflow.getHandle(workflowId).describe()),
    );
    expect(description.runId).toBe(runId);
    expect(description.status.name).toBe('RUNNING');

    // And it still runs to completion once a worker picks it up.
    const connection = await NativeConnection.connect(connectionOptions(temporalTarget()));
    try {
      const w = await Worker.create({
        connection,
        namespace: cfg.TEMPORAL_NAMESPACE,
        taskQueue,
        workflowsPath: require.resolve('../workflows/trivial.ts'),
      });
      const result = await w.runUntil(
        withTemporal(async (client) => {
          const handle = client.workflow.getHandle(workflowId);
          await handle.signal(releaseSignal);
          return handle.result();
        }),
      );
      expect(result).toBe('released');
      openWorkflowId = undefined;
    } finally {
      await connection.close();
    }
  });
});

describe('dependencies restarting under running processes', () => {
  it('the stack worker and API outlive a PostgreSQL and a Vault restart, and the orders in flight finish', async () => {
    const cfg = config();
    const pidOf = (name: string) =>
      Number(readFileSync(path.join(repoRoot, '.data', 'run', `${name}.pid`), 'utf8'));
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const processes = ['worker', 'api', 'retention-worker'].map((name) => ({ name, pid: pidOf(name) }));
    const vault = await connectVault('api', { env: freshStackEnv() });
    const client = await connectClient({ component: 'api', vault });
    const orderIds: string[] = [];
    try {
      // Orders on the stack's own worker, polling every half second, that the outages catch mid-way.
      const startSome = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const orderId = `slow-chaos-${randomUUID().slice(0, 12)}`;
          const input = buildOrderInput(
            {
              orderId,
              userId: 'chaos',
              email: `chaos-${randomUUID().slice(0, 8)}@example.test`,
              policy: { pollInitialInterval: '500ms', pollMaxInterval: '2s' },
            },
            defaultPolicy(cfg),
            { pollBounds: FAST_POLLING_BOUNDS },
          );
          await startOrder(client, input, cfg.TEMPORAL_TASK_QUEUE);
          orderIds.push(orderId);
        }
      };
      await startSome(4);

      expect(await stack('stop', 'postgres')).toBe(0);
      // Started while the database is away: the dev server keeps its own store and takes them, the worker
      // waits. The cluster profile's Temporal keeps its state in this same PostgreSQL: nothing starts there
      // until it is back, so only the orders in flight are put through the outage.
      if (!process.env.TEMPORAL_STORE_DATABASE_URLS) await startSome(2);
      await new Promise((r) => setTimeout(r, 6_000));
      expect(processes.filter((p) => !alive(p.pid))).toEqual([]);
      expect(await stack('up', '--services')).toBe(0);

      expect(await stack('stop', 'vault')).toBe(0);
      await new Promise((r) => setTimeout(r, 6_000));
      expect(processes.filter((p) => !alive(p.pid))).toEqual([]);
      expect(await stack('up', '--services')).toBe(0);

      // Every order delivered, by the same processes that lived through both outages.
      for (const orderId of orderIds) {
        const status = await whenReady(async () => {
          const s = await client.workflow.getHandle(workflowIdFor(orderId)).query(statusQuery);
          if (s.phase !== 'delivered') throw new Error(`order ${orderId} is ${s.phase}`);
          return s;
        }, 120_000);
        expect(status).toMatchObject({ outcome: 'DELIVERED', deliveredCards: 3 });
      }
      expect(processes.filter((p) => !alive(p.pid) || pidOf(p.name) !== p.pid)).toEqual([]);
      const health = await whenReady(() =>
        fetch(`http://127.0.0.1:${cfg.API_PORT}/healthz`).then((r) => r.status),
      );
      expect(health).toBe(200);
    } finally {
      for (const orderId of orderIds)
        await client.workflow
          .getHandle(workflowIdFor(orderId))
          .signal(purgeNowSignal)
          .catch(() => {});
      await client.connection.close();
      vault.close();
    }
  });
});
