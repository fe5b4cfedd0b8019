/**
 * @fastify/rate-limit's store interface (incr/child) over PostgreSQL, so every API process of a deployment
 * spends the same budgets and a restart resets none of them (DESIGN 8). One row per bucket and client:
 * its window starts at the client's first request, as in the plugin's own in-memory store, so a client
 * cannot burst twice its budget across the edge of a fixed clock window. All times are the database's, so
 * replicas whose clocks disagree still agree on a window.
 *
 * Ended windows are deleted by whichever process next counts a request after SWEEP_INTERVAL_MS, in bounded
 * batches on the window_ends index; a counter that is hit again after its window ended restarts in place.
 *
 * A bucket may instead be counted per process (BucketOption.perProcess): the plugin's in-memory store.
 *
 * A bucket found spent is remembered in the process until its window ends (a count only grows until then,
 * so the verdict cannot change): a flood from a client that is already refused costs no database write.
 */
import { createHash } from 'node:crypto';
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import LocalStore from '@fastify/rate-limit/store/LocalStore';
import type { Db } from '../../lib/db';
import { increment, SWEEP_BATCH, sweepEnded } from '../../store/rate-limits';

const SWEEP_INTERVAL_MS = 60_000;
/** Longer keys are stored as their hash: the primary key's index has a row size limit. */
const MAX_KEY_LENGTH = 200;
/** Spent buckets remembered per process; past this many the ended ones are forgotten, then all. */
const MAX_REMEMBERED = 10_000;
/** Clients a per-process bucket counts at once (an LRU: the least recently seen is forgotten first). */
const PER_PROCESS_CLIENTS = 10_000;

export interface SharedCounters {
  /** For `@fastify/rate-limit`'s `store` option. */
  store: FastifyRateLimitStoreCtor;
  /** Waits for a sweep in flight (before the pool is ended). */
  close(): Promise<void>;
}

/** What createRateLimit passes on to the store's child: the bucket the limiter counts in. */
export interface BucketOption {
  bucket: string;
  /** Counted in this process only, by the plugin's in-memory LRU store, never in PostgreSQL. */
  perProcess?: boolean;
}

/**
 * Counters for one deployment: `scope` names it, and every process with the same scope on the same
 * database shares every bucket.
 */
export function postgresCounters(db: Db, scope: string): SharedCounters {
  let nextSweep = 0;
  let sweeping: Promise<void> | undefined;
  /** Bucket and key of a spent bucket → when its window ends (this process's clock). */
  const spent = new Map<string, number>();
  const remember = (id: string, until: number) => {
    if (spent.size >= MAX_REMEMBERED) {
      const now = Date.now();
      for (const [k, end] of spent) if (end <= now) spent.delete(k);
      if (spent.size >= MAX_REMEMBERED) spent.clear();
    }
    spent.set(id, until);
  };

  // Never in the way of the request that triggers it, and a failed sweep only waits for the next one.
  const maybeSweep = () => {
    const now = Date.now();
    if (sweeping || now < nextSweep) return;
    nextSweep = now + SWEEP_INTERVAL_MS;
    sweeping = sweepEnded(db)
      .then((rowCount) => {
        // A full batch means more are waiting: the next request sweeps again.
        if (rowCount === SWEEP_BATCH) nextSweep = 0;
      })
      .catch(() => {})
      .finally(() => {
        sweeping = undefined;
      });
  };

  class PostgresStore implements FastifyRateLimitStore {
    private readonly bucket: string;

    constructor(options: Partial<BucketOption> = {}) {
      this.bucket = `${scope}/${options.bucket ?? 'default'}`;
    }

    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
      max: number,
    ): void {
      const stored =
        key.length > MAX_KEY_LENGTH ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key;
      const id = `${this.bucket}\n${stored}`;
      const until = spent.get(id);
      if (until !== undefined) {
        const ttl = until - Date.now();
        if (ttl > 0) {
          callback(null, { current: max + 1, ttl });
          return;
        }
        spent.delete(id);
      }
      maybeSweep();
      increment(db, this.bucket, stored, timeWindow).then(
        ({ count, ttlMs: ttl }) => {
          if (count > max) remember(id, Date.now() + ttl);
          callback(null, { current: count, ttl });
        },
        (err: Error) => callback(err),
      );
    }

    child(options: object): FastifyRateLimitStore {
      const bucket = options as Partial<BucketOption>;
      if (bucket.perProcess) return new LocalStore(false, false, PER_PROCESS_CLIENTS);
      return new PostgresStore(bucket);
    }
  }

  return {
    store: PostgresStore as unknown as FastifyRateLimitStoreCtor,
    close: async () => {
      await sweeping;
    },
  };
}
