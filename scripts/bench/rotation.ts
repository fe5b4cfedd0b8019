// npm run bench:rotation [-- --cards 1000000 --orders 4000 --batch 500 --max-per-second 0 --live-rate 10]
// Key rotation at scale on the local stack (scripts/stack.sh up): seeds N stored cards in a key bucket of
// the benchmark's own (`cards-2998-01`, created for the run and destroyed at the end), rotates it and
// rewraps every card (domain/key-rotation.ts, what `npm run keys:rotate` runs), and prints the time,
// cards/s and Vault calls per card, with the latency of a live operation beside it: a stream of what an
// order does to Vault and PostgreSQL (encrypt 3 cards as the worker, read a card row, decrypt them as the
// API, under the month's real bucket) measured with no rotation running (before and after) and during the
// rewrap.
//
// Seeding is cheap: O orders' cards are encrypted through transit for real (one card per order; derived
// keys take the order id as context, so a ciphertext decrypts, and rewraps, only with its own order id),
// then copied by generate_series into N card rows spread over those orders. Every row is marked
// (`bench-rotation-<run>-…` order ids, user `bench-rotation`) and deleted at the end; the audit rows the
// rotation writes (actor `bench-rotation`) stay, as the audit trail is append-only.
//
// min_decryption_version is not raised here: the shared stack's Vault holds the retention policy of its
// last bootstrap; test/stack/key-rotation.test.ts raises it on a private OpenBao.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { rotateCardBucket } from '../../domain/key-rotation';
import { configFor, databaseUrl } from '../../lib/config';
import { createPool } from '../../lib/db';
import { connectVault } from '../../lib/vault';
import { bucketBounds } from '../../store/cards';
import {
  cardsNotUnder,
  deleteRotationRows,
  fixturePool,
  readOrderCards,
  seedRotationBucket,
} from './fixtures';

const CODE = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const randomCode = () =>
  Array.from({ length: 19 }, (_, i) =>
    i % 5 === 4 ? '-' : CODE[Math.floor(Math.random() * CODE.length)],
  ).join('');

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main() {
  const { values } = parseArgs({
    options: {
      cards: { type: 'string', default: '1000000' },
      orders: { type: 'string', default: '4000' },
      batch: { type: 'string', default: '500' },
      'max-per-second': { type: 'string', default: '0' },
      'live-rate': { type: 'string', default: '10' },
      'baseline-seconds': { type: 'string', default: '20' },
    },
  });
  const n = Number(values.cards);
  const orders = Math.min(Number(values.orders), n);
  const batchSize = Number(values.batch);
  const liveEveryMs = 1000 / Number(values['live-rate']);
  const cfg = configFor('test');
  // The rotation runs as keys:rotate does (the retention worker's role); seeding and tidying as fixtures.
  const db = createPool(databaseUrl('retention', cfg), 4);
  const fixtures = fixturePool(2);
  const [worker, decryptor, retention] = await Promise.all([
    connectVault('worker'),
    connectVault('decryptor'),
    connectVault('retention'),
  ]);
  const mount = retention.transit.mount;
  const run = `bench-rotation-${randomUUID().slice(0, 8)}`;
  const bucket = `${cfg.VAULT_CARD_KEY_PREFIX}-2998-01`;
  const month = `${cfg.VAULT_CARD_KEY_PREFIX}-${new Date().toISOString().slice(0, 7)}`;
  const liveOrder = `${run}-live`;

  const cleanup = async () => {
    let t = Date.now();
    await deleteRotationRows(fixtures, run);
    console.log(`cleanup: the run's card and order rows deleted in ${Date.now() - t} ms`);
    t = Date.now();
    try {
      await retention.vault.write(`${mount}/keys/${bucket}/config`, { deletion_allowed: true });
      await retention.vault.delete(`${mount}/keys/${bucket}`);
      console.log(`cleanup: key ${bucket} destroyed`);
    } catch (err) {
      console.log(`cleanup: key ${bucket} not destroyed: ${(err as Error).message}`);
    }
  };

  try {
    // The benchmark's bucket, created as the retention sweep creates one (a leftover of a stopped run is
    // destroyed first: its cards were deleted with the run's rows, or are deleted below).
    const exists = await retention.vault.read(`${mount}/keys/${bucket}`).then(
      () => true,
      () => false,
    );
    if (exists) {
      const live = (await bucketBounds(db, bucket)).n;
      if (live > 0) throw new Error(`${bucket} holds ${live} card rows: not a leftover to destroy`);
      await retention.vault.write(`${mount}/keys/${bucket}/config`, { deletion_allowed: true });
      await retention.vault.delete(`${mount}/keys/${bucket}`);
    }
    await retention.vault.write(`${mount}/keys/${bucket}`, { type: 'aes256-gcm96', derived: true });

    // Seed: one real card per order through transit, then N rows copied across those orders.
    let t = Date.now();
    const ids = Array.from({ length: orders }, (_, k) => `${run}-${k}`);
    const values_: string[] = [];
    const serials: string[] = [];
    for (let i = 0; i < orders; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const ct = await worker.transit.encryptBatch(
        bucket,
        chunk.flatMap((id) => [
          { plaintext: randomCode(), context: id },
          { plaintext: String(Math.floor(Math.random() * 1e12)), context: id },
        ]),
      );
      chunk.forEach((_, j) => {
        values_.push(ct[2 * j]!);
        serials.push(ct[2 * j + 1]!);
      });
    }
    const encryptMs = Date.now() - t;
    t = Date.now();
    // A live order's row, under the month's real bucket, for the live stream's database read.
    const liveCt = await worker.transit.encryptBatch(month, [
      { plaintext: randomCode(), context: liveOrder },
      { plaintext: '123456789012', context: liveOrder },
    ]);
    await seedRotationBucket(fixtures, {
      ids,
      values: values_,
      serials,
      bucket,
      n,
      live: { orderId: liveOrder, valueCt: liveCt[0]!, serialCt: liveCt[1]!, bucket: month },
    });
    console.log(
      `seeded ${n} cards over ${orders} orders in bucket ${bucket}: ${orders} real encryptions in ${encryptMs} ms, ` +
        `rows in ${Date.now() - t} ms`,
    );

    // The live stream: what an order does to Vault and the database, one after the other.
    const liveOp = async () => {
      const start = performance.now();
      const cards = [randomCode(), randomCode(), randomCode()];
      const ct = await worker.transit.encryptBatch(
        month,
        cards.map((plaintext) => ({ plaintext, context: liveOrder })),
      );
      await readOrderCards(fixtures, liveOrder);
      await decryptor.transit.decryptBatch(
        month,
        ct.map((ciphertext) => ({ ciphertext, context: liveOrder })),
      );
      return performance.now() - start;
    };
    const stream = (until: () => boolean) => {
      const samples: number[] = [];
      const done = (async () => {
        while (!until()) {
          const began = Date.now();
          samples.push(await liveOp());
          const wait = liveEveryMs - (Date.now() - began);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        return samples.sort((a, b) => a - b);
      })();
      return done;
    };
    const baselineEnd = Date.now() + Number(values['baseline-seconds']) * 1000;
    const baseline = await stream(() => Date.now() >= baselineEnd);

    let rotating = true;
    const during = stream(() => !rotating);
    const result = await rotateCardBucket(
      {
        db,
        vault: retention,
        actor: 'bench-rotation',
        progress: (line) => console.log(`  ${line}`),
      },
      {
        key: bucket,
        batchSize,
        maxPerSecond: Number(values['max-per-second']),
        raiseMinDecryption: false,
        progressEveryMs: 10_000,
      },
    ).finally(() => {
      rotating = false;
    });
    const live = await during;
    // The machine is shared: a baseline after the rewrap too, so that load from elsewhere shows as a
    // difference between the two baselines rather than as the rotation's effect.
    const afterEnd = Date.now() + Number(values['baseline-seconds']) * 1000;
    const baselineAfter = await stream(() => Date.now() >= afterEnd);
    const both = [...baseline, ...baselineAfter].sort((a, b) => a - b);

    const s = result.ms / 1000;
    const cards = result.rewrapped + result.alreadyCurrent;
    console.log('');
    console.log(
      `rotation of ${bucket}: ${cards} cards (${result.rewrapped} rewrapped, v${result.fromVersion} → v${result.toVersion}) ` +
        `in ${s.toFixed(1)} s: ${Math.round(cards / s)} cards/s; batch ${batchSize} cards (${2 * batchSize} ciphertexts) ` +
        `per rewrap call, max-per-second ${values['max-per-second'] === '0' ? 'unbounded' : values['max-per-second']}`,
    );
    console.log(
      `Vault calls: ${result.vaultCalls} (${result.rewrapCalls} rewrap), ${(result.vaultCalls / cards).toFixed(5)} per card ` +
        `(${(result.rewrapCalls / cards).toFixed(5)} rewrap calls per card); waiting on Vault ${(result.vaultMs / 1000).toFixed(1)} s, on PostgreSQL ${(result.dbMs / 1000).toFixed(1)} s; ` +
        `audit rows: ${result.batches + 2}`,
    );
    const fmt = (xs: number[]) =>
      `${xs.length} ops, p50 ${quantile(xs, 0.5).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms`;
    console.log(`live operation (encrypt 3 + read + decrypt 3), before the rotation: ${fmt(baseline)}`);
    console.log(`live operation during the rewrap:                                ${fmt(live)}`);
    console.log(`live operation after the rotation:                               ${fmt(baselineAfter)}`);
    console.log(
      `ratio during/without (both baselines): p50 ${(quantile(live, 0.5) / quantile(both, 0.5)).toFixed(2)}×, ` +
        `p99 ${(quantile(live, 0.99) / quantile(both, 0.99)).toFixed(2)}× ` +
        `(the baselines differ by p50 ${(quantile(baselineAfter, 0.5) / quantile(baseline, 0.5)).toFixed(2)}×: ` +
        `what other load on the machine did meanwhile)`,
    );
    const stale = await cardsNotUnder(fixtures, bucket, result.toVersion);
    console.log(`cards of the bucket not under v${result.toVersion}: ${stale}`);
  } finally {
    await cleanup();
    for (const v of [worker, decryptor, retention]) v.close();
    await db.end();
    await fixtures.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
