/**
 * Key rotation at scale (README "Key rotation", docs/operations/key-compromise.md).
 *
 * A card key bucket (`cards-YYYY-MM`) is rotated in Vault, then every stored ciphertext of the bucket is
 * rewrapped to the new version through transit's batch `rewrap` (Vault decrypts and re-encrypts inside
 * itself: no plaintext card ever reaches this process), page by page in card-id order, and finally the
 * key's `min_decryption_version` is raised so that the old versions decrypt nothing any more.
 *
 * The audit trail is the checkpoint: each batch's rows are updated and its `KEY_REWRAPPED` audit row
 * (key, run, id range, counts; never a ciphertext) is written by one statement, so a run stopped anywhere
 * resumes after its last recorded batch and never redoes a finished one. Rewrapping is idempotent anyway:
 * rows already under the target version are skipped without a Vault call, and each row is updated only if
 * its ciphertext is still the one that was rewrapped (a card purged meanwhile is left alone).
 *
 * The codec key (`temporal-codec`) is different: what it wraps lives in Temporal histories, which cannot be
 * rewritten. See rotateCodecKey.
 */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type pg from 'pg';
import type { Db } from '../lib/db';
import { countVault, toVaultError, type VaultSession } from '../lib/vault';
import { audit, unfinishedRotation } from '../store/audit';
import { bucketBounds, bucketPage, rewrapCards, staleCards } from '../store/cards';

/** `vault:v7:…` → 7; anything else → 0. */
export function ciphertextVersion(ciphertext: string): number {
  const m = /^vault:v(\d+):/.exec(ciphertext);
  return m ? Number(m[1]) : 0;
}

export interface KeyInfo {
  latestVersion: number;
  minDecryptionVersion: number;
}

export interface RotationDeps {
  db: Db;
  vault: VaultSession;
  /** Who runs it, for the audit rows ("retention", "operator:<name>", "bench"). */
  actor: string;
  /** One progress line at a time; never given a ciphertext or a plaintext. */
  progress?: (line: string) => void;
}

export interface BucketRotationOptions {
  key: string;
  /** Cards per transit call (two ciphertexts each: value and serial). */
  batchSize?: number;
  /** Upper bound on cards rewrapped per second (0 or absent: unbounded). */
  maxPerSecond?: number;
  /** Raise min_decryption_version to the new version once every card of the bucket is under it. */
  raiseMinDecryption?: boolean;
  /** Rotate even when the key's latest version is newer than every stored ciphertext (default: yes). */
  rotate?: boolean;
  /** Stop (as a crash or Ctrl-C would) after this many batches of this invocation: for tests. */
  stopAfterBatches?: number;
  signal?: AbortSignal;
  progressEveryMs?: number;
}

export interface BucketRotationResult {
  key: string;
  run: string;
  resumed: boolean;
  fromVersion: number;
  toVersion: number;
  cardsInBucket: number;
  /** Cards this invocation rewrapped (updated rows). */
  rewrapped: number;
  /** Cards read that were already under the target version. */
  alreadyCurrent: number;
  batches: number;
  /** Every Vault request of this invocation: key reads, rotate, rewrap batches, config. */
  vaultCalls: number;
  rewrapCalls: number;
  ms: number;
  /** Of `ms`: waiting for the rewrap calls, for the page reads and the updates. */
  vaultMs: number;
  dbMs: number;
  minDecryptionVersion: number | null;
  interrupted: boolean;
  /** Cards still under an older version when the run ended (0 unless interrupted or refused). */
  stale: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readKey(vault: VaultSession, key: string, calls: { n: number }): Promise<KeyInfo> {
  calls.n++;
  try {
    const res = (await countVault('read-key', () =>
      vault.vault.read(`${vault.transit.mount}/keys/${key}`),
    )) as {
      data: { latest_version: number; min_decryption_version: number };
    };
    return {
      latestVersion: res.data.latest_version,
      minDecryptionVersion: res.data.min_decryption_version,
    };
  } catch (err) {
    throw toVaultError(err, `reading key ${key}`);
  }
}

async function rotateKey(vault: VaultSession, key: string, calls: { n: number }): Promise<void> {
  calls.n++;
  try {
    await countVault('rotate-key', () => vault.vault.write(`${vault.transit.mount}/keys/${key}/rotate`, {}));
  } catch (err) {
    throw toVaultError(err, `rotating key ${key}`);
  }
}

async function raiseMinDecryption(
  vault: VaultSession,
  key: string,
  version: number,
  calls: { n: number },
): Promise<void> {
  calls.n++;
  try {
    await countVault('config-key', () =>
      vault.vault.write(`${vault.transit.mount}/keys/${key}/config`, { min_decryption_version: version }),
    );
  } catch (err) {
    const e = toVaultError(err, `raising min_decryption_version of ${key} to ${version}`);
    if (e.status === 403) {
      e.message +=
        ' (the Vault policy of this identity does not allow min_decryption_version: the bootstrap writes ' +
        'scripts/vault-policies/retention.hcl, which does, at the next `bash scripts/stack.sh up`)';
    }
    throw e;
  }
}

/**
 * Rotates one card key bucket, rewraps its stored cards and raises its min_decryption_version; or resumes
 * the bucket's unfinished run (found in the audit trail) without rotating again. One run per bucket at a
 * time (a PostgreSQL advisory lock); a second one is refused.
 */
export async function rotateCardBucket(
  deps: RotationDeps,
  opts: BucketRotationOptions,
): Promise<BucketRotationResult> {
  const { db, vault, actor } = deps;
  const key = opts.key;
  const batchSize = opts.batchSize ?? 500;
  const maxPerSecond = opts.maxPerSecond ?? 0;
  const say = deps.progress ?? (() => {});
  const calls = { n: 0 };
  let rewrapCalls = 0;
  let vaultMs = 0;
  let dbMs = 0;
  const started = Date.now();

  const lock: pg.PoolClient = await db.connect();
  try {
    const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
      `key-rotation:${key}`,
    ]);
    if (!got.rows[0]?.ok) throw new Error(`${key}: another rotation of this key is running`);

    const before = await readKey(vault, key, calls);
    let pending = await unfinishedRotation(db, key);
    if (pending && pending.toVersion > before.latestVersion) {
      // A run of an earlier key of the same name (deleted and created again): nothing to resume.
      say(
        `${key}: run ${pending.run} was for an earlier key of this name (v${pending.toVersion}); starting anew`,
      );
      pending = null;
    }
    let run: string;
    let fromVersion: number;
    let cursor: string;
    let batchesBefore = 0;
    if (pending) {
      ({ run, fromVersion, cursor } = pending);
      batchesBefore = pending.batches;
      say(`${key}: resuming run ${run} after card id ${cursor} (${pending.batches} batch(es) recorded)`);
    } else {
      run = `rot-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${Math.random().toString(36).slice(2, 8)}`;
      fromVersion = before.latestVersion;
      cursor = '0';
      if (opts.rotate !== false) {
        await rotateKey(vault, key, calls);
      }
    }
    const target =
      pending || opts.rotate !== false
        ? (await readKey(vault, key, calls)).latestVersion
        : before.latestVersion;
    if (!pending) {
      await audit(db, {
        event: 'KEY_ROTATED',
        actor,
        method: 'keys:rotate',
        detail: { key, run, fromVersion, toVersion: target, rotated: opts.rotate !== false },
      });
      say(
        opts.rotate === false
          ? `${key}: not rotated; rewrapping to v${target} (run ${run})`
          : `${key}: rotated v${fromVersion} → v${target} (run ${run})`,
      );
    }

    const bounds = await bucketBounds(db, key);
    const total = bounds.n;
    const hi = bounds.hi ?? '0';
    if (bounds.lo && BigInt(cursor) < BigInt(bounds.lo) - 1n) cursor = (BigInt(bounds.lo) - 1n).toString();

    let rewrapped = 0;
    let alreadyCurrent = 0;
    let batches = 0;
    let read = 0;
    let interrupted = false;
    let lastLine = Date.now();
    const paceStart = Date.now();
    const line = (final = false) => {
      const s = (Date.now() - started) / 1000;
      say(
        `${key}: ${final ? 'rewrapped' : 'rewrapping'} ${read}/${total} cards read this run` +
          ` (${total ? ((100 * read) / total).toFixed(1) : '100'}%), ${rewrapped} rewrapped, ${alreadyCurrent} already v${target},` +
          ` ${Math.round(read / Math.max(s, 0.001))} cards/s, ${rewrapCalls} rewrap calls, cursor ${cursor}`,
      );
    };

    // Pass 1 walks the bucket in id order from the checkpoint; later passes (rarely needed: a row inserted
    // with an older id after the cursor passed it) take only what is still stale.
    for (let pass = 1; pass <= 3 && !interrupted; pass++) {
      const onlyStale = pass > 1;
      if (onlyStale) {
        if ((await staleCards(db, key, target)) === 0) break;
        cursor = '0';
        say(`${key}: pass ${pass}: rewrapping rows still under an older version`);
      }
      for (;;) {
        if (
          opts.signal?.aborted ||
          (opts.stopAfterBatches !== undefined && batches >= opts.stopAfterBatches)
        ) {
          interrupted = true;
          break;
        }
        const tPage = Date.now();
        // Keyset pages from the cursor to the bucket's last id at the start (store/cards bucketPage).
        const page = {
          rows: await bucketPage(db, { key, target, cursor, batchSize, hi, onlyStale }),
        };
        dbMs += Date.now() - tPage;
        if (page.rows.length === 0) break;
        const stale = page.rows.filter(
          (r) => ciphertextVersion(r.value_ct) < target || ciphertextVersion(r.serial_ct) < target,
        );
        let fresh: string[] = [];
        if (stale.length > 0) {
          const tVault = Date.now();
          fresh = await vault.transit.rewrapBatch(
            key,
            stale.flatMap((r) => [
              { ciphertext: r.value_ct, context: r.order_id },
              { ciphertext: r.serial_ct, context: r.order_id },
            ]),
          );
          calls.n++;
          rewrapCalls++;
          vaultMs += Date.now() - tVault;
        }
        const firstId = page.rows[0]!.id;
        const lastId = page.rows[page.rows.length - 1]!.id;
        // The rows and the checkpoint in one statement: both or neither.
        const tDb = Date.now();
        const n = await rewrapCards(db, {
          rows: stale.map((r, i) => ({
            id: r.id,
            oldValue: r.value_ct,
            oldSerial: r.serial_ct,
            newValue: fresh[2 * i]!,
            newSerial: fresh[2 * i + 1]!,
          })),
          key,
          actor,
          run,
          version: target,
          pass,
          firstId,
          lastId,
          read: page.rows.length,
          alreadyCurrent: page.rows.length - stale.length,
        });
        dbMs += Date.now() - tDb;
        rewrapped += n;
        alreadyCurrent += page.rows.length - stale.length;
        read += page.rows.length;
        batches++;
        cursor = lastId;
        if (Date.now() - lastLine >= (opts.progressEveryMs ?? 5000)) {
          lastLine = Date.now();
          line();
        }
        if (maxPerSecond > 0) {
          const ahead = (read / maxPerSecond) * 1000 - (Date.now() - paceStart);
          if (ahead > 0) await sleep(ahead);
        }
        if (page.rows.length < batchSize) break;
      }
    }
    line(true);

    const stale = await staleCards(db, key, target);
    let minDecryptionVersion: number | null = null;
    if (!interrupted) {
      if (stale > 0) {
        throw new Error(
          `${key}: ${stale} card(s) still under a version older than v${target} after three passes; min_decryption_version not raised (run the command again)`,
        );
      }
      if (opts.raiseMinDecryption !== false) {
        await raiseMinDecryption(vault, key, target, calls);
        minDecryptionVersion = target;
        say(
          `${key}: min_decryption_version raised to ${target}: versions before v${target} decrypt nothing now`,
        );
      }
      await audit(db, {
        event: 'KEY_ROTATION_FINISHED',
        actor,
        method: 'keys:rotate',
        count: rewrapped,
        detail: {
          key,
          run,
          fromVersion,
          toVersion: target,
          minDecryptionVersion,
          cardsInBucket: total,
          batches: batchesBefore + batches,
          ms: Date.now() - started,
        },
      });
    } else {
      say(`${key}: stopped after ${batches} batch(es); run the same command again to resume run ${run}`);
    }
    return {
      key,
      run,
      resumed: pending !== null,
      fromVersion,
      toVersion: target,
      cardsInBucket: total,
      rewrapped,
      alreadyCurrent,
      batches,
      vaultCalls: calls.n,
      vaultMs,
      dbMs,
      rewrapCalls,
      ms: Date.now() - started,
      minDecryptionVersion,
      interrupted,
      stale,
    };
  } finally {
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [`key-rotation:${key}`]).catch(() => {});
    lock.release();
  }
}

export { raiseMinDecryption, readKey as readTransitKey, rotateKey as rotateTransitKey };

// ---------------------------------------------------------------------------------------------------------
// The codec key

export interface CodecScan {
  openWorkflows: number;
  schedules: number;
  /** Per codec key version, how many open workflows (or schedules) carry a data key wrapped under it. */
  byVersion: Record<number, number>;
  /** The oldest version any open workflow or schedule needs to be decoded (null: none carries one). */
  oldestNeeded: number | null;
}

const WRAPPED = /vault:v(\d+):/g;

function versionsIn(bytes: Uint8Array): Set<number> {
  const found = new Set<number>();
  for (const m of Buffer.from(bytes).toString('latin1').matchAll(WRAPPED)) found.add(Number(m[1]));
  return found;
}

/**
 * Which codec key versions the open workflows' histories and the Schedules' stored actions still need.
 * Reads them raw (no codec): the codec's payloads carry their Vault-wrapped data key in clear metadata
 * (`encryption-key`, `vault:vN:…`), while everything else in them is AES-GCM ciphertext, so the only
 * `vault:vN:` strings in the raw bytes are wrapped codec data keys.
 */
export async function scanCodecVersions(
  connection: Pick<Connection, 'workflowService'>,
  namespace: string,
  /** Which running workflows (default: every one) and whether Schedules count (default: yes). */
  opts: { query?: string; schedules?: boolean } = {},
): Promise<CodecScan> {
  const svc = connection.workflowService;
  const byVersion: Record<number, number> = {};
  let oldest: number | null = null;
  const count = (versions: Set<number>) => {
    for (const v of versions) byVersion[v] = (byVersion[v] ?? 0) + 1;
    const min = Math.min(...versions);
    if (versions.size && (oldest === null || min < oldest)) oldest = min;
  };
  let openWorkflows = 0;
  let next: Uint8Array | undefined;
  do {
    const page = await svc.listWorkflowExecutions({
      namespace,
      query: `ExecutionStatus = "Running"${opts.query ? ` AND (${opts.query})` : ''}`,
      pageSize: 500,
      ...(next ? { nextPageToken: next } : {}),
    });
    for (const e of page.executions ?? []) {
      openWorkflows++;
      const versions = new Set<number>();
      let hNext: Uint8Array | undefined;
      do {
        const h = await svc.getWorkflowExecutionHistory({
          namespace,
          execution: { workflowId: e.execution?.workflowId ?? '', runId: e.execution?.runId ?? '' },
          maximumPageSize: 1000,
          ...(hNext ? { nextPageToken: hNext } : {}),
        });
        const bytes = temporal.api.history.v1.History.encode({ events: h.history?.events ?? [] }).finish();
        for (const v of versionsIn(bytes)) versions.add(v);
        hNext = h.nextPageToken?.length ? h.nextPageToken : undefined;
      } while (hNext);
      count(versions);
    }
    next = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (next);

  let schedules = 0;
  let sNext: Uint8Array | undefined;
  if (opts.schedules !== false)
    do {
      const page = await svc.listSchedules({
        namespace,
        maximumPageSize: 500,
        ...(sNext ? { nextPageToken: sNext } : {}),
      });
      for (const s of page.schedules ?? []) {
        schedules++;
        const d = await svc.describeSchedule({ namespace, scheduleId: s.scheduleId ?? '' });
        count(versionsIn(temporal.api.workflowservice.v1.DescribeScheduleResponse.encode(d).finish()));
      }
      sNext = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (sNext);
  return { openWorkflows, schedules, byVersion, oldestNeeded: oldest };
}

export interface CodecRotationResult {
  key: string;
  run: string;
  fromVersion: number;
  toVersion: number;
  minDecryptionVersionBefore: number;
  scan: CodecScan | null;
  /** The version min_decryption_version was raised to, or null (not asked, or not possible yet). */
  raisedTo: number | null;
  /** Why it was not raised, when asked. */
  notRaised?: string;
  vaultCalls: number;
}

/**
 * The codec key wraps per-process data keys whose wrapped copies live in Temporal histories, which cannot
 * be rewritten: an order that runs for weeks replays its whole history (its input among it) on any worker
 * that picks it up, and needs every version its payloads were wrapped under until it closes. So:
 *
 * - `rotate` rotates the key: every data key minted afterwards (each process mints one at start and
 *   every CODEC_KEY_ROTATION) is wrapped under the new version;
 * - the scan reports which versions the open workflows and Schedules still carry;
 * - `raise` (an explicit flag) raises min_decryption_version only as far as the oldest version any open
 *   workflow or Schedule still needs (never past it), and only if that is above the current one. Closed
 *   histories (kept for the namespace's retention) under older versions then no longer decode in the UI.
 */
export async function rotateCodecKey(
  deps: RotationDeps,
  opts: {
    key: string;
    rotate: boolean;
    raise: boolean;
    temporal?: {
      connection: Pick<Connection, 'workflowService'>;
      namespace: string;
      query?: string;
      schedules?: boolean;
    };
  },
): Promise<CodecRotationResult> {
  const { db, vault, actor } = deps;
  const say = deps.progress ?? (() => {});
  const calls = { n: 0 };
  const key = opts.key;
  const run = `rot-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${Math.random().toString(36).slice(2, 8)}`;
  const before = await readKey(vault, key, calls);
  let after = before;
  if (opts.rotate) {
    await rotateKey(vault, key, calls);
    after = await readKey(vault, key, calls);
    await audit(db, {
      event: 'KEY_ROTATED',
      actor,
      method: 'keys:rotate',
      detail: {
        key,
        run,
        fromVersion: before.latestVersion,
        toVersion: after.latestVersion,
        rotated: true,
      },
    });
    say(
      `${key}: rotated v${before.latestVersion} → v${after.latestVersion}; new data keys are wrapped under v${after.latestVersion}`,
    );
  }
  const t = opts.temporal;
  const scan = t
    ? await scanCodecVersions(t.connection, t.namespace, {
        ...(t.query ? { query: t.query } : {}),
        ...(t.schedules === false ? { schedules: false } : {}),
      })
    : null;
  if (scan) {
    const carried = Object.entries(scan.byVersion)
      .map(([v, n]) => `v${v}: ${n}`)
      .join(', ');
    say(
      `${key}: ${scan.openWorkflows} open workflow(s) and ${scan.schedules} schedule(s) carry data keys wrapped under ${carried || 'no version'}; min_decryption_version is ${before.minDecryptionVersion}`,
    );
  }
  let raisedTo: number | null = null;
  let notRaised: string | undefined;
  if (opts.raise) {
    if (!scan) {
      notRaised = 'no Temporal connection to scan the open workflows';
    } else {
      const target = Math.min(scan.oldestNeeded ?? after.latestVersion, after.latestVersion);
      if (target <= before.minDecryptionVersion) {
        notRaised = `open workflows or schedules still carry v${scan.oldestNeeded}: min_decryption_version stays ${before.minDecryptionVersion}`;
      } else {
        await raiseMinDecryption(vault, key, target, calls);
        raisedTo = target;
        await audit(db, {
          event: 'KEY_ROTATION_FINISHED',
          actor,
          method: 'keys:rotate',
          detail: { key, run, minDecryptionVersion: target, openWorkflows: scan.openWorkflows },
        });
        say(`${key}: min_decryption_version raised to ${target}`);
      }
    }
    if (notRaised) say(`${key}: not raised: ${notRaised}`);
  }
  return {
    key,
    run,
    fromVersion: before.latestVersion,
    toVersion: after.latestVersion,
    minDecryptionVersionBefore: before.minDecryptionVersion,
    scan,
    raisedTo,
    ...(notRaised ? { notRaised } : {}),
    vaultCalls: calls.n,
  };
}
