// npm run keys:rotate -- --key cards-2026-12 [--key …] | --all-card-buckets   [options]
//                        --codec [--codec-raise]
// Run with the retention identity (retention-worker.env): the role that may rotate, rewrap and configure
// the card keys and rotate the codec key (scripts/vault-policies/retention.hcl).
//
// Card buckets: rotate the key, rewrap every stored card of the bucket to the new version in batches
// (resumable: run the same command again after a stop and it continues after the last recorded batch),
// then raise min_decryption_version so the old versions decrypt nothing.
//   --batch N             cards per transit rewrap call (two ciphertexts each), default 500
//   --max-per-second N    cards per second at most (default 2000; 0: unbounded)
//   --no-raise            leave min_decryption_version where it is
//   --no-rotate           rewrap to the key's current latest version without rotating first
// The codec key (temporal-codec): its wrapped data keys live in Temporal histories, which cannot be
// rewrapped, so it is rotated and the open workflows and Schedules are scanned for the versions they
// still carry; --codec-raise raises min_decryption_version only up to the oldest of those.
// docs/operations/key-compromise.md says when and in which order.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { rotateCardBucket, rotateCodecKey } from '../domain/key-rotation';
import { configFor } from '../lib/config';
import { connectionOptions, temporalTarget } from '../lib/temporal';
import { toVaultError } from '../lib/vault';
import { retentionDeps } from '../workers/deps';

async function main() {
  const { values } = parseArgs({
    options: {
      key: { type: 'string', multiple: true, default: [] },
      'all-card-buckets': { type: 'boolean', default: false },
      batch: { type: 'string', default: '500' },
      'max-per-second': { type: 'string', default: '2000' },
      'no-raise': { type: 'boolean', default: false },
      'no-rotate': { type: 'boolean', default: false },
      codec: { type: 'boolean', default: false },
      'codec-raise': { type: 'boolean', default: false },
      'codec-no-rotate': { type: 'boolean', default: false },
      operator: { type: 'string' },
    },
  });
  const cfg = configFor('retention-worker');
  const cardKeys = values.key.filter((k) => k !== cfg.VAULT_CODEC_KEY);
  if (values.key.includes(cfg.VAULT_CODEC_KEY)) values.codec = true;
  if (!cardKeys.length && !values['all-card-buckets'] && !values.codec) {
    console.log(
      'usage: npm run keys:rotate -- --key cards-YYYY-MM [--key …] | --all-card-buckets | --codec [--codec-raise]' +
        ' [--batch 500] [--max-per-second 2000] [--no-raise] [--no-rotate]',
    );
    process.exitCode = 2;
    return;
  }
  const batchSize = Number(values.batch);
  const maxPerSecond = Number(values['max-per-second']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000)
    throw new Error('--batch: 1 to 5000');
  if (!Number.isFinite(maxPerSecond) || maxPerSecond < 0) throw new Error('--max-per-second: a number ≥ 0');
  for (const k of cardKeys) {
    if (!new RegExp(`^${cfg.VAULT_CARD_KEY_PREFIX}-`).test(k))
      throw new Error(`--key ${k}: not a card key bucket`);
  }

  const deps = await retentionDeps(cfg);
  const actor = `operator:${values.operator ?? userInfo().username}`;
  const progress = (line: string) => console.log(`[${new Date().toISOString()}] ${line}`);
  const stop = new AbortController();
  const onSignal = () => {
    progress('stopping after the batch in flight (run the command again to resume)');
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let keys = cardKeys;
    if (values['all-card-buckets']) {
      const mount = deps.vault.transit.mount;
      const res = await deps.vault.vault.list(`${mount}/keys`).catch((err: unknown) => {
        throw toVaultError(err, 'listing transit keys');
      });
      const bucket = new RegExp(`^${cfg.VAULT_CARD_KEY_PREFIX}-\\d{4}-\\d{2}$`);
      keys = [
        ...new Set([...keys, ...((res.data?.keys as string[]) ?? []).filter((k) => bucket.test(k))]),
      ].sort();
    }
    for (const key of keys) {
      if (stop.signal.aborted) break;
      const r = await rotateCardBucket(
        { db: deps.db, vault: deps.vault, actor, progress },
        {
          key,
          batchSize,
          maxPerSecond,
          raiseMinDecryption: !values['no-raise'],
          rotate: !values['no-rotate'],
          signal: stop.signal,
        },
      );
      console.log(
        JSON.stringify({
          ...r,
          cardsPerSecond: Math.round((r.rewrapped + r.alreadyCurrent) / Math.max(r.ms / 1000, 0.001)),
        }),
      );
    }
    if (values.codec && !stop.signal.aborted) {
      const connection = await Connection.connect(connectionOptions(temporalTarget(cfg)));
      try {
        const r = await rotateCodecKey(
          { db: deps.db, vault: deps.vault, actor, progress },
          {
            key: cfg.VAULT_CODEC_KEY,
            rotate: !values['codec-no-rotate'],
            raise: values['codec-raise'],
            temporal: { connection, namespace: cfg.TEMPORAL_NAMESPACE },
          },
        );
        console.log(JSON.stringify(r));
      } finally {
        await connection.close();
      }
    }
  } finally {
    await deps.close();
  }
}

main().catch((err) => {
  console.error(`keys:rotate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
