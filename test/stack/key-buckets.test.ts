/**
 * Crypto-shredding as promised (issue 20 item 6), on the real Vault software and database:
 *
 * - An order whose retention was extended past its bucket's destruction has its cards moved by the
 *   retention sweep's step to the bucket of its new purge date (by the retention role, audited): they now
 *   decrypt under the new bucket's key only, their blind index is the new bucket's, and the old bucket is
 *   destroyed at its time without losing them.
 * - Destroying a bucket makes the blind index of its cards useless: the index of a known code no longer
 *   matches the stored one (the HMAC key is gone; a key created again under the name gives others).
 *
 * The Vault side is a private OpenBao dev server bootstrapped with this checkout's policies (the
 * retention role's rebucketing capabilities, the worker's HMAC on buckets), and the buckets are of a
 * prefix of this file's own, so destroying them touches nothing of anyone else's. The rows are this file's
 * orders only and are deleted at the end (but for their audit rows).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectActivity } from '../../activities/collect';
import type { ActivityDeps } from '../../activities/deps';
import { createRetentionActivities } from '../../activities/retention';
import type { CollectInput } from '../../contracts/order';
import { blindIndexInput, bucketForPurge, INDEX_KEY_VERSION } from '../../domain/card-buckets';
import { cardKeyName } from '../../domain/cards';
import type { ProviderCard } from '../../domain/provider';
import { componentPool, type Db } from '../../lib/db';
import { logger } from '../../lib/logger';
import type { VaultSession } from '../../lib/vault';
import { fixturePool } from '../helpers/fixture-db';
import { asOrderWorkflow } from '../helpers/orders';
import { type PrivateVault, startPrivateVault } from '../helpers/private-vault';
import { randomCard, type SeedCard } from '../helpers/seed';

const DAY = 86_400_000;
const RETENTION_MS = 30 * DAY;
/** Matches the policies' `cards-*`; this file's alone. */
const PREFIX = `cards-t${randomUUID().slice(0, 8)}`;
const ORDER_PREFIX = `test-buckets-${randomUUID().slice(0, 8)}`;
/** A month whose bucket is past destruction now (its end plus the retention is over). */
const OLD_BUCKET = `${PREFIX}-2026-09`;

let vault: PrivateVault;
/** The fixtures' (schema owner's): seeding and tidying up. */
let db: Db;
/** The components' own: the sweep runs as the retention role, the collect step as the worker's. */
let retentionDb: Db;
let workerDb: Db;
let worker: VaultSession;
let decryptor: VaultSession;
let retention: VaultSession;

beforeAll(async () => {
  vault = await startPrivateVault();
  db = fixturePool();
  retentionDb = componentPool('retention', 2);
  workerDb = componentPool('worker', 2);
  [worker, decryptor, retention] = await Promise.all([
    vault.connect('worker'),
    vault.connect('decryptor'),
    vault.connect('retention'),
  ]);
}, 60_000);

afterAll(async () => {
  // Their audit rows stay: the trail is append-only even to the schema's owner.
  await db?.query('DELETE FROM cards WHERE order_id LIKE $1', [`${ORDER_PREFIX}-%`]);
  await db?.query('DELETE FROM orders WHERE order_id LIKE $1', [`${ORDER_PREFIX}-%`]);
  await db?.end();
  await retentionDb?.end();
  await workerDb?.end();
  for (const s of [worker, decryptor, retention]) s?.close();
  vault?.stop();
});

const sweep = () =>
  createRetentionActivities({
    db: retentionDb,
    vault: retention,
    cardKeyPrefix: PREFIX,
    retentionMs: RETENTION_MS,
    log: logger(),
  });

/** Cards stored as the collect step stores them: worker's encryption and blind index, under `bucket`. */
async function storeOrder(bucket: string, purgeAfter: Date, n = 3) {
  const orderId = `${ORDER_PREFIX}-${randomUUID().slice(0, 8)}`;
  const cards = Array.from({ length: n }, () => randomCard());
  const sealed = await worker.transit.encryptBatch(
    bucket,
    cards.flatMap((c) => [
      { plaintext: c.value, context: orderId },
      { plaintext: c.serial, context: orderId },
    ]),
  );
  const indexes = await worker.transit.hmacBatch(
    bucket,
    cards.map((c) => blindIndexInput(orderId, c.value)),
    INDEX_KEY_VERSION,
  );
  await db.query(
    `INSERT INTO orders (order_id, user_id, workflow_id, purge_after) VALUES ($1, 'test-buckets', $1, $2)`,
    [orderId, purgeAfter],
  );
  await db.query(
    `INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
     SELECT $1, i, v, s, $2 FROM unnest($3::text[], $4::text[], $5::text[]) AS t(i, v, s)`,
    [orderId, bucket, indexes, cards.map((_, i) => sealed[2 * i]), cards.map((_, i) => sealed[2 * i + 1])],
  );
  return { orderId, cards, indexes };
}

async function rowsOf(orderId: string) {
  const { rows } = await db.query<{
    key_name: string;
    value_ct: string;
    serial_ct: string;
    blind_index: string;
  }>('SELECT key_name, value_ct, serial_ct, blind_index FROM cards WHERE order_id = $1 ORDER BY id', [
    orderId,
  ]);
  return rows;
}

const decrypt = (session: VaultSession, bucket: string, orderId: string, cts: string[]) =>
  session.transit.decryptBatch(
    bucket,
    cts.map((ciphertext) => ({ ciphertext, context: orderId })),
  );

function values(cards: SeedCard[]) {
  return cards.flatMap((c) => [c.value, c.serial]);
}

describe('key buckets', () => {
  it("moves an extended order's cards to the bucket of its new purge date, so the old bucket can go", async () => {
    const steps = sweep();
    await retention.vault.write(`transit/keys/${OLD_BUCKET}`, { type: 'aes256-gcm96', derived: true });
    // Stored in September with the default retention, then extended: purged 60 days from now.
    const purgeAfter = new Date(Date.now() + 60 * DAY);
    const { orderId, cards } = await storeOrder(OLD_BUCKET, purgeAfter);
    // It keeps the old bucket alive: the sweep would not destroy it.
    expect((await steps.planSweep()).bucketsToDestroy).not.toContain(OLD_BUCKET);

    expect(await steps.rebucketCards({ batchSize: 100 })).toBe(cards.length);
    const target = bucketForPurge(PREFIX, purgeAfter, RETENTION_MS);
    expect(target).not.toBe(OLD_BUCKET);
    const moved = await rowsOf(orderId);
    expect(moved.map((r) => r.key_name)).toEqual(cards.map(() => target));
    const cts = moved.flatMap((r) => [r.value_ct, r.serial_ct]);
    // The reveal's role reads them under the new bucket; under the old one they are nothing.
    expect(await decrypt(decryptor, target, orderId, cts)).toEqual(values(cards));
    await expect(decrypt(decryptor, OLD_BUCKET, orderId, cts)).rejects.toThrow();
    // Their blind index is the new bucket's: what the collect step computes for the same codes.
    expect(moved.map((r) => r.blind_index)).toEqual(
      await worker.transit.hmacBatch(
        target,
        cards.map((c) => blindIndexInput(orderId, c.value)),
        INDEX_KEY_VERSION,
      ),
    );
    // The new bucket is destroyed no sooner than the order's purge.
    const targetEnd = new Date(`${target.slice(-7)}-01T00:00:00Z`);
    targetEnd.setUTCMonth(targetEnd.getUTCMonth() + 1);
    expect(targetEnd.getTime() + RETENTION_MS).toBeGreaterThanOrEqual(purgeAfter.getTime());
    // Audited by the retention worker, naming the buckets (never a card).
    const { rows: audits } = await db.query<{ actor: string; count: number; detail: object }>(
      `SELECT actor, count, detail FROM audit_log WHERE order_id = $1 AND event = 'CARDS_REBUCKETED'`,
      [orderId],
    );
    expect(audits).toEqual([
      { actor: 'retention', count: cards.length, detail: { from: OLD_BUCKET, to: target } },
    ]);
    // A second run has nothing left to move.
    expect(await steps.rebucketCards({ batchSize: 100 })).toBe(0);

    // The old bucket is destroyed at its time, and the order's cards are still there for the customer.
    const { destroyed } = await steps.manageKeyBuckets();
    expect(destroyed).toContain(OLD_BUCKET);
    await expect(retention.vault.read(`transit/keys/${OLD_BUCKET}`)).rejects.toThrow();
    expect(await decrypt(decryptor, target, orderId, cts)).toEqual(values(cards));
  }, 60_000);

  it("makes the blind index of a destroyed bucket's cards useless", async () => {
    const bucket = `${PREFIX}-2026-08`;
    await retention.vault.write(`transit/keys/${bucket}`, { type: 'aes256-gcm96', derived: true });
    const { orderId, cards, indexes } = await storeOrder(bucket, new Date(Date.now() - DAY), 2);
    const probe = cards.map((c) => blindIndexInput(orderId, c.value));
    // While the bucket lives, whoever holds the worker's role can confirm a guessed code from the index.
    expect(await worker.transit.hmacBatch(bucket, probe, INDEX_KEY_VERSION)).toEqual(indexes);

    // The order is purged (a backup keeps a copy of its rows), then its bucket destroyed.
    await db.query('DELETE FROM cards WHERE order_id = $1', [orderId]);
    await db.query('UPDATE orders SET purged_at = now() WHERE order_id = $1', [orderId]);
    expect((await sweep().manageKeyBuckets()).destroyed).toContain(bucket);

    // The index can no longer be computed...
    await expect(worker.transit.hmacBatch(bucket, probe, INDEX_KEY_VERSION)).rejects.toThrow();
    // ...and a key created again under the same name gives other indexes: the backup's no longer match.
    await retention.vault.write(`transit/keys/${bucket}`, { type: 'aes256-gcm96', derived: true });
    const again = await worker.transit.hmacBatch(bucket, probe, INDEX_KEY_VERSION);
    for (let i = 0; i < indexes.length; i++) expect(again[i]).not.toBe(indexes[i]);
  }, 60_000);

  it("keeps deduplicating an order's cards after they moved bucket, and against indexes from before", async () => {
    const current = cardKeyName(PREFIX, new Date());
    await retention.vault.write(`transit/keys/${current}`, { type: 'aes256-gcm96', derived: true });
    const orderId = `${ORDER_PREFIX}-${randomUUID().slice(0, 8)}`;
    const issued: ProviderCard[] = Array.from({ length: 4 }, () => ({ ...randomCard() }));
    let answer = issued.slice(0, 2);
    const deps = {
      db: workerDb,
      transit: worker.transit,
      provider: {
        checkOrder: async () => ({
          orderId,
          status: 'PARTIALLY_FILLED' as const,
          quantity: 4,
          cards: answer,
        }),
      },
      log: logger(),
      cardKeyPrefix: PREFIX,
      indexKey: 'card-index',
      indexKeyVersion: 1,
      webhookEndpoints: new Map(),
      noticeTemplates: {},
    } as unknown as ActivityDeps;
    const collect = collectActivity(deps, async () => {
      throw new Error('no link in this test');
    });
    const poll = (knownStored: number, register: boolean): CollectInput => ({
      orderId,
      firstRunId: 'run-1',
      knownStored,
      knownStatus: null,
      pollInitialMs: 5_000,
      pollMaxMs: 5_000,
      ...(register
        ? {
            register: {
              orderId,
              firstRunId: 'run-1',
              userId: 'test-buckets',
              caller: null,
              policy: {
                deliverPartial: false,
                purgeOnRetrieval: false,
                linkTtl: '1h',
                retention: '30d',
                deadline: '1h',
                pollInitialInterval: '5s',
                pollMaxInterval: '5s',
                webhookMaxAge: '1h',
              },
            },
          }
        : {}),
    });
    const run = asOrderWorkflow(orderId);
    expect(await run(collect, poll(0, true))).toMatchObject({ stored: 2, newlyStored: 2 });
    expect((await rowsOf(orderId)).map((r) => r.key_name)).toEqual([current, current]);

    // Extended far out: the sweep moves the two cards to a later bucket (indexes under it).
    await db.query(`UPDATE orders SET purge_after = now() + interval '200 days' WHERE order_id = $1`, [
      orderId,
    ]);
    expect(await sweep().rebucketCards({ batchSize: 100 })).toBe(2);
    // A third card as a worker stored it before indexes moved to buckets: indexed under card-index.
    const [legacyCt, legacySerialCt] = await worker.transit.encryptBatch(current, [
      { plaintext: issued[2]!.value, context: orderId },
      { plaintext: issued[2]!.serial, context: orderId },
    ]);
    const [legacyIndex] = await worker.transit.hmacBatch(
      'card-index',
      [blindIndexInput(orderId, issued[2]!.value)],
      1,
    );
    await db.query(
      'INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name) VALUES ($1, $2, $3, $4, $5)',
      [orderId, legacyIndex, legacyCt, legacySerialCt, current],
    );

    // The provider now answers with all four: only the fourth is new.
    answer = issued;
    expect(await run(collect, poll(3, false))).toMatchObject({ stored: 4, newlyStored: 1 });
    const rows = await rowsOf(orderId);
    expect(rows).toHaveLength(4);
    const plain = await Promise.all(
      rows.map(async (r) => (await decrypt(decryptor, r.key_name, orderId, [r.value_ct]))[0]),
    );
    expect(plain.sort()).toEqual(issued.map((c) => c.value).sort());
  }, 60_000);
});
