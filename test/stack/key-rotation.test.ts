/**
 * Key rotation at scale (`npm run keys:rotate`, domain/key-rotation.ts) on a small scale.
 *
 * Raising min_decryption_version makes old versions decrypt nothing: on the shared stack's keys that would
 * break everyone else's cards and histories. So the Vault side runs on a private OpenBao dev server that
 * this file starts, bootstrapped by scripts/vault-bootstrap.sh itself (the project's policies and
 * AppRoles, the retention policy with the rotation capabilities this change adds), and on a key bucket of
 * its own (`cards-2999-MM`, a month no real card is stored in). PostgreSQL (card rows, audit trail) and
 * Temporal (the codec scan) are the stack's; the rows are this file's orders only and are deleted at the end.
 */
import { execFile } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ciphertextVersion,
  readTransitKey,
  rotateCardBucket,
  rotateCodecKey,
  scanCodecVersions,
} from '../../domain/key-rotation';
import { config, databaseUrl, repoRoot } from '../../lib/config';
import type { Db } from '../../lib/db';
import { connectClient, createCodec } from '../../lib/temporal';
import type { VaultSession } from '../../lib/vault';
import { fixturePool } from '../helpers/fixture-db';
import { type PrivateVault, startPrivateVault } from '../helpers/private-vault';
import { randomCard, type SeedCard } from '../helpers/seed';

const run = promisify(execFile);
const ORDERS = 6;
const CARDS_PER_ORDER = 5;
const PREFIX = `test-rotation-${randomUUID().slice(0, 8)}`;
const BUCKET = `cards-2999-${String(randomInt(1, 13)).padStart(2, '0')}`;

let vault: PrivateVault;
let addr: string;
let db: Db;
let worker: VaultSession;
let decryptor: VaultSession;
let retention: VaultSession;
let retentionEnv: Record<string, string>;
const seeded = new Map<string, SeedCard[]>();

beforeAll(async () => {
  vault = await startPrivateVault();
  addr = vault.addr;
  db = fixturePool();
  [worker, decryptor, retention] = await Promise.all([
    vault.connect('worker'),
    vault.connect('decryptor'),
    vault.connect('retention'),
  ]);
  retentionEnv = vault.approle('retention');
  // The test's own bucket, created as the retention sweep creates buckets.
  await retention.vault.write(`transit/keys/${BUCKET}`, { type: 'aes256-gcm96', derived: true });

  for (let o = 0; o < ORDERS; o++) {
    const orderId = `${PREFIX}-${o}`;
    const cards = Array.from({ length: CARDS_PER_ORDER }, () => randomCard());
    const ct = await worker.transit.encryptBatch(
      BUCKET,
      cards.flatMap((c) => [
        { plaintext: c.value, context: orderId },
        { plaintext: c.serial, context: orderId },
      ]),
    );
    await db.query(`INSERT INTO orders (order_id, user_id, workflow_id) VALUES ($1, 'test-rotation', $1)`, [
      orderId,
    ]);
    await db.query(
      `INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
       SELECT $1, $1 || ':' || i, v, s, $2 FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS x(v, s, i)`,
      [orderId, BUCKET, cards.map((_, i) => ct[2 * i]), cards.map((_, i) => ct[2 * i + 1])],
    );
    seeded.set(orderId, cards);
  }
}, 60_000);

afterAll(async () => {
  await db?.query('DELETE FROM cards WHERE order_id LIKE $1', [`${PREFIX}-%`]);
  await db?.query('DELETE FROM orders WHERE order_id LIKE $1', [`${PREFIX}-%`]);
  await db?.end();
  for (const s of [worker, decryptor, retention]) s?.close();
  vault?.stop();
});

async function cardRows() {
  const { rows } = await db.query<{ id: string; order_id: string; value_ct: string; serial_ct: string }>(
    'SELECT id::text, order_id, value_ct, serial_ct FROM cards WHERE key_name = $1 AND order_id LIKE $2 ORDER BY id',
    [BUCKET, `${PREFIX}-%`],
  );
  return rows;
}

async function auditOf(runId: string) {
  const { rows } = await db.query<{ event: string; count: number | null; detail: Record<string, unknown> }>(
    `SELECT event, count, detail FROM audit_log WHERE detail->>'run' = $1 ORDER BY id`,
    [runId],
  );
  return rows;
}

function expectNoSecrets(rows: unknown[]) {
  const text = JSON.stringify(rows);
  expect(text).not.toMatch(/vault:v\d+:/);
  for (const cards of seeded.values())
    for (const c of cards) {
      expect(text).not.toContain(c.value);
      expect(text).not.toContain(c.serial);
    }
}

describe('card key bucket rotation', () => {
  it('rotates, rewraps in batches, stops, resumes from its checkpoint, raises min_decryption_version', async () => {
    const before = await cardRows();
    expect(before).toHaveLength(ORDERS * CARDS_PER_ORDER);
    expect(before.every((r) => r.value_ct.startsWith('vault:v1:'))).toBe(true);
    const keptAside = before[0]!;
    const progress: string[] = [];
    const deps = {
      db,
      vault: retention,
      actor: 'test:key-rotation',
      progress: (l: string) => progress.push(l),
    };

    // Interrupted after two batches of 4 cards (as a crash or Ctrl-C would leave it).
    const first = await rotateCardBucket(deps, { key: BUCKET, batchSize: 4, stopAfterBatches: 2 });
    expect(first).toMatchObject({
      interrupted: true,
      fromVersion: 1,
      toVersion: 2,
      rewrapped: 8,
      batches: 2,
    });
    expect(first.minDecryptionVersion).toBeNull();
    const mid = await cardRows();
    expect(
      mid.slice(0, 8).every((r) => r.value_ct.startsWith('vault:v2:') && r.serial_ct.startsWith('vault:v2:')),
    ).toBe(true);
    expect(mid.slice(8).every((r) => r.value_ct.startsWith('vault:v1:'))).toBe(true);
    expect((await readTransitKey(retention, BUCKET, { n: 0 })).minDecryptionVersion).toBe(1);

    // Resumed: the same run, no second rotation, nothing of the finished batches redone (a rewrap would
    // give those rows new ciphertexts: they are unchanged).
    const second = await rotateCardBucket(deps, { key: BUCKET, batchSize: 4, maxPerSecond: 200 });
    expect(second).toMatchObject({
      resumed: true,
      run: first.run,
      toVersion: 2,
      rewrapped: ORDERS * CARDS_PER_ORDER - 8,
      alreadyCurrent: 0,
      interrupted: false,
      minDecryptionVersion: 2,
      stale: 0,
    });
    expect(second.rewrapCalls).toBe(Math.ceil((ORDERS * CARDS_PER_ORDER - 8) / 4));
    const after = await cardRows();
    expect(after.slice(0, 8)).toEqual(mid.slice(0, 8));
    expect(
      after.every((r) => ciphertextVersion(r.value_ct) === 2 && ciphertextVersion(r.serial_ct) === 2),
    ).toBe(true);
    expect((await readTransitKey(retention, BUCKET, { n: 0 })).minDecryptionVersion).toBe(2);

    // Every card still decrypts (the API's role), to what was stored.
    for (const [orderId, cards] of seeded) {
      const rows = after.filter((r) => r.order_id === orderId);
      const plain = await decryptor.transit.decryptBatch(
        BUCKET,
        rows.flatMap((r) => [
          { ciphertext: r.value_ct, context: orderId },
          { ciphertext: r.serial_ct, context: orderId },
        ]),
      );
      expect(plain).toEqual(cards.flatMap((c) => [c.value, c.serial]));
    }
    // The ciphertext kept aside from before the rewrap is refused now.
    await expect(
      decryptor.transit.decryptBatch(BUCKET, [
        { ciphertext: keptAside.value_ct, context: keptAside.order_id },
      ]),
    ).rejects.toThrow(/min_decryption_version|decryption version|not allowed|failed/i);

    // The audit trail: one KEY_ROTATED, one row per batch (the checkpoint), one KEY_ROTATION_FINISHED.
    const rows = await auditOf(first.run);
    expect(rows.map((r) => r.event)).toEqual([
      'KEY_ROTATED',
      ...Array.from({ length: 2 + second.batches }, () => 'KEY_REWRAPPED'),
      'KEY_ROTATION_FINISHED',
    ]);
    const batchRows = rows.filter((r) => r.event === 'KEY_REWRAPPED');
    // Batches never overlap: each starts after the previous one's last id.
    for (let i = 1; i < batchRows.length; i++)
      expect(BigInt(batchRows[i]!.detail.firstId as string)).toBeGreaterThan(
        BigInt(batchRows[i - 1]!.detail.lastId as string),
      );
    expect(batchRows.reduce((n, r) => n + (r.count ?? 0), 0)).toBe(ORDERS * CARDS_PER_ORDER);
    expect(rows.at(-1)!.detail).toMatchObject({ key: BUCKET, toVersion: 2, minDecryptionVersion: 2 });
    expectNoSecrets(rows);
    expectNoSecrets(progress);
    expect(progress.some((l) => l.includes('resuming run'))).toBe(true);
  });

  it('the command, run again as the retention role: the next version, every card rewrapped, progress without secrets', async () => {
    // `npm run keys:rotate` as an operator runs it: the retention identity, here the private Vault's.
    const { stdout } = await run(
      'npx',
      [
        'tsx',
        'scripts/rotate-keys.ts',
        '--key',
        BUCKET,
        '--batch',
        '7',
        '--max-per-second',
        '0',
        '--operator',
        'test',
      ],
      {
        cwd: repoRoot,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          NODE_ENV: 'development',
          STACK_ENV_FILE: path.join(repoRoot, '.data', 'env', 'retention-worker.env'),
          // The tests' database (the retention worker's role on it), whichever the env file names.
          RETENTION_DATABASE_URL: databaseUrl('retention'),
          VAULT_ADDR: addr,
          VAULT_TRANSIT_MOUNT: 'transit',
          ...retentionEnv,
        },
        timeout: 60_000,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({
      key: BUCKET,
      fromVersion: 2,
      toVersion: 3,
      minDecryptionVersion: 3,
      stale: 0,
    });
    expect(result.rewrapped).toBe(ORDERS * CARDS_PER_ORDER);
    expect(stdout).toMatch(/rotated v2 → v3/);
    expect(stdout).not.toMatch(/vault:v\d+:/);
    const rows = await cardRows();
    expect(rows.every((r) => r.value_ct.startsWith('vault:v3:') && r.serial_ct.startsWith('vault:v3:'))).toBe(
      true,
    );
    const audit = await auditOf(result.run);
    expect(audit[0]).toMatchObject({ event: 'KEY_ROTATED' });
    expect(audit.find((r) => r.event === 'KEY_ROTATED')!.detail).toMatchObject({ key: BUCKET, toVersion: 3 });
  }, 90_000);

  it('refuses a second run of the same bucket while one holds it', async () => {
    const lock = await db.connect();
    try {
      await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`key-rotation:${BUCKET}`]);
      await expect(
        rotateCardBucket({ db, vault: retention, actor: 'test' }, { key: BUCKET }),
      ).rejects.toThrow(/another rotation/);
    } finally {
      await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [`key-rotation:${BUCKET}`]);
      lock.release();
    }
  });
});

describe('codec key', () => {
  let client: Client;
  const type = `keyRotationProbe${randomUUID().slice(0, 8).replace(/-/g, '')}`;
  const taskQueue = `${PREFIX}-nobody-polls`;
  const query = `WorkflowType = "${type}"`;

  afterAll(async () => {
    for (const id of [`${PREFIX}-wf-old`, `${PREFIX}-wf-new`])
      await client?.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => {});
    await client?.connection.close();
  });

  async function scanUntil(expected: Record<number, number>) {
    for (let i = 0; i < 50; i++) {
      const scan = await scanCodecVersions(client.connection, config().TEMPORAL_NAMESPACE, {
        query,
        schedules: false,
      });
      if (JSON.stringify(scan.byVersion) === JSON.stringify(expected)) return scan;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the open probe workflows never carried ${JSON.stringify(expected)}`);
  }

  it('is rotated, not raised while an open workflow carries the old version, raised once none does', async () => {
    const cli = await vault.connect('cli');
    try {
      const codecV1 = createCodec(cli.transit);
      client = await connectClient({ component: 'cli', codec: codecV1 });
      await client.workflow.start(type, { taskQueue, workflowId: `${PREFIX}-wf-old`, args: [{ probe: 1 }] });
      await scanUntil({ 1: 1 });

      const temporal = {
        connection: client.connection,
        namespace: config().TEMPORAL_NAMESPACE,
        query,
        schedules: false,
      };
      const deps = { db, vault: retention, actor: 'test:key-rotation' };
      const rotated = await rotateCodecKey(deps, {
        key: 'temporal-codec',
        rotate: true,
        raise: true,
        temporal,
      });
      expect(rotated).toMatchObject({ fromVersion: 1, toVersion: 2, raisedTo: null });
      expect(rotated.notRaised).toMatch(/carry v1/);

      // A process started after the rotation (a fresh codec) wraps its data key under v2.
      const codecV2 = createCodec(cli.transit);
      const client2 = await connectClient({ component: 'cli', codec: codecV2 });
      await client2.workflow.start(type, { taskQueue, workflowId: `${PREFIX}-wf-new`, args: [{ probe: 2 }] });
      await client2.connection.close();
      await scanUntil({ 1: 1, 2: 1 });
      expect(
        (await rotateCodecKey(deps, { key: 'temporal-codec', rotate: false, raise: true, temporal }))
          .raisedTo,
      ).toBeNull();

      // The old order closes: nothing open needs v1 any more.
      await client.workflow.getHandle(`${PREFIX}-wf-old`).terminate('closed for the test');
      await scanUntil({ 2: 1 });
      const raised = await rotateCodecKey(deps, {
        key: 'temporal-codec',
        rotate: false,
        raise: true,
        temporal,
      });
      expect(raised.notRaised, JSON.stringify(raised.scan)).toBeUndefined();
      expect(raised.raisedTo).toBe(2);
      expect((await readTransitKey(retention, 'temporal-codec', { n: 0 })).minDecryptionVersion).toBe(2);
      // The new workflow's payloads still decode (through a process with an empty key cache); a v1 data key no longer unwraps.
      const fresh = createCodec(cli.transit);
      const desc = await client.workflowService.getWorkflowExecutionHistory({
        namespace: config().TEMPORAL_NAMESPACE,
        execution: { workflowId: `${PREFIX}-wf-new` },
      });
      const input = desc.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      expect(input.length).toBe(1);
      await expect(fresh.decode(input as never)).resolves.toHaveLength(1);
      const old = await client.workflowService.getWorkflowExecutionHistory({
        namespace: config().TEMPORAL_NAMESPACE,
        execution: { workflowId: `${PREFIX}-wf-old` },
      });
      const oldInput =
        old.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      await expect(createCodec(cli.transit).decode(oldInput as never)).rejects.toThrow();
    } finally {
      cli.close();
    }
  }, 60_000);
});
