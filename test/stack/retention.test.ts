/**
 * Secure deletion on the real stack: per-order purge (retention timer, purgeOnRetrieval, operator),
 * the retention Schedule and its sweep, and crypto-shredding of key buckets in Vault.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extendRetentionSignal, purgeNowSignal, workflowIdFor } from '../../contracts/order';
import { purgeOrder } from '../../domain/cards';
import { ensureRetentionSchedule } from '../../domain/retention-schedule';
import { config, repoRoot } from '../../lib/config';
import { connectVault, type VaultSession } from '../../lib/vault';
import { retentionSweep } from '../../workflows/retention';
import { linkIn, waitForMail } from '../helpers/mailbox';
import { operatorToken } from '../helpers/operators';
import { waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';
import { startRetentionWorker } from '../helpers/retention';

const run = promisify(execFile);

let p: Pipeline;
let retention: Awaited<ReturnType<typeof startRetentionWorker>>;
let worker: VaultSession;
let decryptor: VaultSession;

beforeAll(async () => {
  [p, retention, worker, decryptor] = await Promise.all([
    startPipeline(),
    startRetentionWorker(),
    connectVault('worker'),
    connectVault('decryptor'),
  ]);
});
afterAll(async () => {
  worker?.close();
  decryptor?.close();
  await Promise.all([p?.stop(), retention?.stop()]);
});

async function deliveredOrder(policy = {}) {
  const orderId = uniqueOrderId('instant');
  const email = uniqueRecipient();
  await p.start({ orderId, userId: 'user-r', email, policy });
  await waitForStatus(p.client, orderId, (s) => s.phase === 'delivered' || s.phase === 'purged');
  return { orderId, email };
}

async function rowsOf(orderId: string) {
  const q = async (sql: string) => (await p.db.query(sql, [orderId])).rows[0].n as number;
  return {
    cards: await q('SELECT count(*)::int AS n FROM cards WHERE order_id = $1'),
    tokens: await q('SELECT count(*)::int AS n FROM delivery_tokens WHERE order_id = $1'),
    purged: await q(`SELECT count(*)::int AS n FROM audit_log WHERE order_id = $1 AND event = 'PURGED'`),
  };
}

function sweepNow() {
  return p.client.workflow.execute(retentionSweep, {
    taskQueue: retention.taskQueue,
    workflowId: `test-sweep-${randomUUID()}`,
    args: [{ batchSize: 50 }],
  });
}

describe('per-order purge', () => {
  it('purges a delivered order when its retention passes: no card or token rows, PURGED audit, status purged', async () => {
    const { orderId } = await deliveredOrder({ retention: '3s' });
    expect((await rowsOf(orderId)).cards).toBe(3);
    const status = await waitForStatus(p.client, orderId, (s) => s.phase === 'purged', 30_000);
    expect(status.phase).toBe('purged');
    expect(await rowsOf(orderId)).toEqual({ cards: 0, tokens: 0, purged: 1 });
    const { rows } = await p.db.query('SELECT purged_at FROM orders WHERE order_id = $1', [orderId]);
    expect(rows[0].purged_at).not.toBeNull();
  });

  it('purgeOnRetrieval purges right after the reveal', async () => {
    const { orderId, email } = await deliveredOrder({ purgeOnRetrieval: true });
    const [mail] = await waitForMail(email);
    const res = await fetch(`${linkIn(mail!)}/reveal`, { method: 'POST' });
    expect(res.status).toBe(200);
    await waitForStatus(p.client, orderId, (s) => s.phase === 'purged', 20_000);
    expect(await rowsOf(orderId)).toEqual({ cards: 0, tokens: 0, purged: 1 });
  });

  it('purgeOnRetrieval with several links waits until every one of them was used', async () => {
    const orderId = uniqueOrderId('partial-then-full');
    const email = uniqueRecipient();
    await p.start({
      orderId,
      userId: 'user-r',
      email,
      policy: { deliverPartial: true, purgeOnRetrieval: true },
    });
    await waitForStatus(p.client, orderId, (s) => s.phase === 'delivered');
    const [first, second] = await waitForMail(email, 2);
    expect((await fetch(`${linkIn(first!)}/reveal`, { method: 'POST' })).status).toBe(200);
    await waitForStatus(p.client, orderId, (s) => s.deliveries.filter((d) => d.retrieved).length === 1);
    expect((await rowsOf(orderId)).cards).toBe(3);
    expect((await fetch(`${linkIn(second!)}/reveal`, { method: 'POST' })).status).toBe(200);
    await waitForStatus(p.client, orderId, (s) => s.phase === 'purged', 20_000);
    expect((await rowsOf(orderId)).cards).toBe(0);
  });

  it('an operator can extend retention (recorded in the DB, with who asked) and purge one order now', async () => {
    const { orderId } = await deliveredOrder();
    const handle = p.client.workflow.getHandle(workflowIdFor(orderId));
    const purgeAfter = async () =>
      (await p.db.query('SELECT purge_after FROM orders WHERE order_id = $1', [orderId])).rows[0];
    const before = await purgeAfter();
    // Through the ops CLI, as the signed-in operator who runs it (sam, support).
    const { stdout } = await run(
      'npx',
      ['tsx', 'scripts/ops.ts', 'extend-retention', '--order-id', orderId, '--by', '10d'],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          LOG_FILE: '',
          OPS_API_URL: p.internalUrl,
          OPERATOR_TOKEN: await operatorToken('sam'),
        },
      },
    );
    expect(stdout).toContain(`Retention of ${orderId} extended by 10d.`);
    await expect.poll(purgeAfter).not.toEqual(before);
    // A signal from elsewhere (the UI) says no one: recorded as "operator".
    const second = await purgeAfter();
    await handle.signal(extendRetentionSignal, { by: '1d' });
    await expect.poll(purgeAfter).not.toEqual(second);
    const extended = await p.db.query(
      `SELECT actor, method, detail FROM audit_log WHERE order_id = $1 AND event = 'RETENTION_EXTENDED' ORDER BY id`,
      [orderId],
    );
    expect(extended.rows.map((r) => [r.actor, r.detail.by])).toEqual([
      ['operator:sam', '10d'],
      ['operator', '1d'],
    ]);
    await handle.signal(purgeNowSignal);
    await waitForStatus(p.client, orderId, (s) => s.phase === 'purged', 20_000);
    expect((await rowsOf(orderId)).cards).toBe(0);
  });

  it('purging twice is harmless', async () => {
    const { orderId } = await deliveredOrder();
    const first = await purgeOrder(p.db, orderId, 'operator', 'test');
    const second = await purgeOrder(p.db, orderId, 'operator', 'test');
    expect(first).toMatchObject({ cardsDeleted: 3, alreadyPurged: false });
    expect(second).toMatchObject({ cardsDeleted: 0, tokensDeleted: 0, alreadyPurged: true });
    expect((await rowsOf(orderId)).purged).toBe(1);
  });

  it('a reveal racing a purge gets the cards or a clean "no longer available", never an error', async () => {
    const outcomes = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const { orderId, email } = await deliveredOrder();
      const link = linkIn((await waitForMail(email))[0]!);
      const [res] = await Promise.all([
        fetch(`${link}/reveal`, { method: 'POST' }),
        purgeOrder(p.db, orderId, 'operator', 'test'),
      ]);
      const body = await res.text();
      outcomes.add(res.status);
      expect([200, 404, 410]).toContain(res.status);
      if (res.status === 200) expect(body).toMatch(/[A-Z0-9]{4}-[A-Z0-9]{4}/);
    }
    expect([...outcomes].every((s) => s < 500)).toBe(true);
  });
});

describe('retention sweep', () => {
  it('purges an order whose workflow was terminated, and re-running finds nothing more', async () => {
    const { orderId } = await deliveredOrder({ retention: '1s' });
    await p.client.workflow.getHandle(workflowIdFor(orderId)).terminate('test: workflow lost');
    await new Promise((r) => setTimeout(r, 1500));
    const counts = await sweepNow();
    expect(counts.ordersPurged).toBeGreaterThanOrEqual(1);
    expect(await rowsOf(orderId)).toEqual({ cards: 0, tokens: 0, purged: 1 });
    await sweepNow();
    expect((await rowsOf(orderId)).purged).toBe(1);
    const sweeps = await p.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE event = 'SWEEP'`);
    expect(sweeps.rows[0].n).toBeGreaterThanOrEqual(2);
  });

  it('a dry run lists what is due and changes nothing', async () => {
    const { orderId } = await deliveredOrder({ retention: '1s' });
    await p.client.workflow.getHandle(workflowIdFor(orderId)).terminate('test: workflow lost');
    await new Promise((r) => setTimeout(r, 1500));
    const { stdout } = await run('npx', ['tsx', 'scripts/retention.ts', '--dry-run'], { env: process.env });
    expect(stdout).toContain('Dry run: nothing was changed');
    expect(stdout).toContain(orderId);
    const rows = await rowsOf(orderId);
    expect(rows).toEqual({ cards: 3, tokens: 1, purged: 0 });
    await sweepNow(); // leave nothing due behind
  });

  it('the Schedule is created idempotently, never overlaps, and triggering it runs a sweep', async () => {
    const scheduleId = `test-retention-schedule-${randomUUID()}`;
    const opts = { interval: '1h', taskQueue: retention.taskQueue, batchSize: 50, scheduleId };
    expect(await ensureRetentionSchedule(p.client, opts)).toBe('created');
    expect(await ensureRetentionSchedule(p.client, { ...opts, interval: '2h' })).toBe('updated');
    const handle = p.client.schedule.getHandle(scheduleId);
    try {
      const described = await handle.describe();
      expect(described.policies.overlap).toBe('SKIP');
      expect(described.spec.intervals?.[0]?.every).toBe(2 * 3600 * 1000);
      await handle.trigger();
      await expect
        .poll(async () => (await handle.describe()).info.recentActions.length, { timeout: 30_000 })
        .toBe(1);
      const action = (await handle.describe()).info.recentActions[0]!;
      const result = await p.client.workflow.getHandle(action.action.workflow.workflowId).result();
      expect(result).toHaveProperty('ordersPurged');
    } finally {
      await handle.delete();
    }
  });
});

describe('crypto-shredding', () => {
  const prefix = config().VAULT_CARD_KEY_PREFIX;
  // A month long past any retention: its bucket may be destroyed once it holds no live card.
  const oldBucket = `${prefix}-2020-${String(1 + Math.floor(Math.random() * 12)).padStart(2, '0')}`;

  it('only the retention role may delete a bucket key', async () => {
    const name = `${prefix}-test-${randomUUID().slice(0, 8)}`;
    await retention.vault.vault.write(`transit/keys/${name}`, { type: 'aes256-gcm96', derived: true });
    await retention.vault.vault.write(`transit/keys/${name}/config`, { deletion_allowed: true });
    for (const session of [worker, decryptor]) {
      await expect(session.vault.delete(`transit/keys/${name}`)).rejects.toMatchObject({
        response: { statusCode: 403 },
      });
    }
    await retention.vault.vault.delete(`transit/keys/${name}`);
    await expect(retention.vault.vault.read(`transit/keys/${name}`)).rejects.toMatchObject({
      response: { statusCode: 404 },
    });
  });

  it('a ciphertext saved before its bucket was destroyed no longer decrypts; a live bucket still does', async () => {
    const startedAt = new Date();
    await retention.vault.vault.write(`transit/keys/${oldBucket}`, { type: 'aes256-gcm96', derived: true });
    const context = `order-${randomUUID()}`;
    const [backup] = await worker.transit.encryptBatch(oldBucket, [
      { plaintext: 'SHRD-CANA-RY00-0001', context },
    ]);
    expect(await decryptor.transit.decryptBatch(oldBucket, [{ ciphertext: backup!, context }])).toEqual([
      'SHRD-CANA-RY00-0001',
    ]);
    const liveBucket = `${prefix}-${new Date().toISOString().slice(0, 7)}`;
    const [live] = await worker.transit.encryptBatch(liveBucket, [{ plaintext: 'LIVE-CARD', context }]);

    const { destroyed } = await retention.activities.manageKeyBuckets();
    expect(destroyed).toContain(oldBucket);
    expect(destroyed).not.toContain(liveBucket);

    await expect(
      decryptor.transit.decryptBatch(oldBucket, [{ ciphertext: backup!, context }]),
    ).rejects.toThrow();
    expect(await decryptor.transit.decryptBatch(liveBucket, [{ ciphertext: live!, context }])).toEqual([
      'LIVE-CARD',
    ]);
    // Key upsert is disabled: encrypting under the destroyed name does not re-create it.
    await expect(worker.transit.encryptBatch(oldBucket, [{ plaintext: 'x', context }])).rejects.toThrow();
    await expect(retention.vault.vault.read(`transit/keys/${oldBucket}`)).rejects.toMatchObject({
      response: { statusCode: 404 },
    });
    // This run's row only: an earlier run may have destroyed a bucket of the same month.
    const audit = await p.db.query(
      `SELECT detail FROM audit_log WHERE event = 'KEY_DESTROYED' AND detail->>'key' = $1 AND at >= $2`,
      [oldBucket, startedAt],
    );
    expect(audit.rows).toHaveLength(1);
  });

  it('a bucket past retention that still holds a live card is kept', async () => {
    const bucket = `${prefix}-2019-${String(1 + Math.floor(Math.random() * 12)).padStart(2, '0')}`;
    await retention.vault.vault.write(`transit/keys/${bucket}`, { type: 'aes256-gcm96', derived: true });
    const { orderId } = await deliveredOrder();
    // A card of the order stored under the old bucket (a card's bucket never changes: cards_rewrap_only).
    await p.db.query(
      `INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
       SELECT order_id, 'test-old-bucket', value_ct, serial_ct, $2 FROM cards WHERE order_id = $1 LIMIT 1`,
      [orderId, bucket],
    );
    try {
      const { destroyed } = await retention.activities.manageKeyBuckets();
      expect(destroyed).not.toContain(bucket);
      expect((await retention.vault.vault.read(`transit/keys/${bucket}`)).data.name).toBe(bucket);
    } finally {
      await purgeOrder(p.db, orderId, 'operator', 'test');
      await retention.activities.manageKeyBuckets();
    }
  });
});
