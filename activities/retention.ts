import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from 'pino';
import { ORDER_OWNERSHIP_REFUSED } from '../contracts/order';
import {
  RETENTION_SWEEP_WORKFLOW_TYPE,
  type RetentionActivities,
  type SweepCounts,
  type SweepPlan,
} from '../contracts/retention';
import { bucketEnd, rebucketCards } from '../domain/card-buckets';
import { purgeOrders } from '../domain/cards';
import type { Db } from '../lib/db';
import { scrub } from '../lib/logger';
import { metrics } from '../lib/metrics';
import { countVault, toVaultError, type VaultSession } from '../lib/vault';
import { audit } from '../store/audit';
import { bucketsInUse } from '../store/cards';
import { deleteExpiredTokens, expiredTokens } from '../store/deliveries';
import { dueOrders } from '../store/orders';
import { askingWorkflow } from './ownership';

export interface RetentionDeps {
  db: Db;
  vault: VaultSession;
  cardKeyPrefix: string;
  /** The longest retention any order gets by default; a key bucket older than this may be destroyed. */
  retentionMs: number;
  log: Logger;
}

const MONTHS_AHEAD = 2;

function upcomingBuckets(prefix: string, now: Date): string[] {
  return Array.from({ length: MONTHS_AHEAD + 1 }, (_, i) => {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
    return `${prefix}-${d.toISOString().slice(0, 7)}`;
  });
}

/**
 * The retention sweep's steps (run by the retention worker, whose Vault role alone may delete keys). They
 * act on orders directly in the database, as the backstop for orders whose own workflow is gone: they
 * choose orders only by the purge time that each order's own workflow recorded (DESIGN 3.10), never by
 * an order id from their input, and they run only for the sweep's workflow (or called directly, by the
 * retention CLI's dry run and tests); any other workflow asking is refused and audited.
 */
export function createRetentionActivities(deps: RetentionDeps): RetentionActivities {
  const activities = retentionSteps(deps);
  const guard =
    <A extends unknown[], R>(step: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await refuseOtherWorkflows(deps, step);
      return fn(...args);
    };
  return {
    planSweep: guard('planSweep', activities.planSweep),
    purgeDueOrders: guard('purgeDueOrders', activities.purgeDueOrders),
    deleteExpiredTokens: guard('deleteExpiredTokens', activities.deleteExpiredTokens),
    rebucketCards: guard('rebucketCards', activities.rebucketCards),
    manageKeyBuckets: guard('manageKeyBuckets', activities.manageKeyBuckets),
    recordSweep: guard('recordSweep', activities.recordSweep),
  };
}

async function refuseOtherWorkflows(deps: RetentionDeps, step: string): Promise<void> {
  const asking = askingWorkflow();
  if (!asking || asking.workflowType === RETENTION_SWEEP_WORKFLOW_TYPE) return;
  // Scrubbed as a log line is: whoever started it chose it, and the audit trail keeps it for good.
  const workflowId = scrub(asking.workflowId.slice(0, 256));
  await audit(deps.db, {
    event: 'OWNERSHIP_REFUSED',
    actor: 'retention',
    method: `activity:${step}`,
    detail: { workflowId, reason: 'not the retention sweep' },
  });
  deps.log.warn({ workflowId, step }, 'refused: a retention step asked by a workflow other than the sweep');
  throw ApplicationFailure.nonRetryable(
    `workflow ${workflowId} may not run retention steps: not the retention sweep`,
    ORDER_OWNERSHIP_REFUSED,
  );
}

function retentionSteps(deps: RetentionDeps): RetentionActivities {
  const { db, vault, cardKeyPrefix: prefix } = deps;
  const mount = vault.transit.mount;

  async function listBuckets(): Promise<string[]> {
    try {
      const res = await vault.vault.list(`${mount}/keys`);
      return ((res.data?.keys as string[]) ?? []).filter((k) => bucketEnd(prefix, k) !== null);
    } catch (err) {
      const e = toVaultError(err, 'listing transit keys');
      if (e.status === 404) return [];
      throw e;
    }
  }

  async function bucketsPastRetention(now: Date): Promise<string[]> {
    const names = (await listBuckets()).filter((k) => {
      const end = bucketEnd(prefix, k);
      return end !== null && end.getTime() + deps.retentionMs <= now.getTime();
    });
    if (names.length === 0) return [];
    const live = await bucketsInUse(db, names);
    return names.filter((k) => !live.has(k));
  }

  /** Creates a bucket key (encrypt cannot create one); a key that exists is left as it is. */
  async function createBucket(name: string): Promise<void> {
    try {
      await countVault('create-key', () =>
        vault.vault.write(`${mount}/keys/${name}`, { type: 'aes256-gcm96', derived: true }),
      );
    } catch (err) {
      throw toVaultError(err, `creating key ${name}`);
    }
  }

  return {
    /** What the next sweep would do; reads only. */
    async planSweep(): Promise<SweepPlan> {
      const now = new Date();
      const due = await dueOrders(db);
      const tokens = await expiredTokens(db);
      const existing = new Set(await listBuckets());
      return {
        dueOrders: due,
        expiredTokens: tokens,
        bucketsToDestroy: await bucketsPastRetention(now),
        bucketsToCreate: upcomingBuckets(prefix, now).filter((k) => !existing.has(k)),
      };
    },

    /**
     * Purges up to `batchSize` due orders in one set-based transaction (the per-order purge, for many
     * orders at once); rows another sweep or an order's own workflow holds are skipped, not waited for.
     */
    async purgeDueOrders(input: { batchSize: number }) {
      return purgeOrders(db, { dueBatch: input.batchSize }, 'sweep', 'retention');
    },

    /** Token rows past their expiry serve no one: the link is dead either way. */
    async deleteExpiredTokens(): Promise<number> {
      return deleteExpiredTokens(db);
    },

    /**
     * Creates the coming months' card keys (encrypt cannot create them) and destroys every month bucket
     * that is past retention and holds no live card: ciphertext copied out earlier, in a backup for
     * instance, can then no longer be decrypted by anyone (crypto-shredding).
     */
    async manageKeyBuckets(): Promise<{ created: string[]; destroyed: string[] }> {
      const now = new Date();
      const existing = new Set(await listBuckets());
      const created: string[] = [];
      for (const name of upcomingBuckets(prefix, now)) {
        if (existing.has(name)) continue;
        await createBucket(name);
        created.push(name);
      }
      const destroyed: string[] = [];
      for (const name of await bucketsPastRetention(now)) {
        try {
          await countVault('destroy-key', async () => {
            await vault.vault.write(`${mount}/keys/${name}/config`, { deletion_allowed: true });
            await vault.vault.delete(`${mount}/keys/${name}`);
          });
        } catch (err) {
          throw toVaultError(err, `destroying key ${name}`);
        }
        await audit(db, {
          event: 'KEY_DESTROYED',
          actor: 'retention',
          method: 'activity:manageKeyBuckets',
          detail: { key: name },
        });
        metrics.keyBucketsDestroyed.inc();
        deps.log.info({ key: name }, 'key bucket destroyed');
        destroyed.push(name);
      }
      return { created, destroyed };
    },

    /**
     * Moves up to `batchSize` cards whose order outlives their bucket into the bucket of their purge date
     * (domain/card-buckets.ts), so that no order keeps another month's bucket alive.
     */
    async rebucketCards(input: { batchSize: number }): Promise<number> {
      const { cards, moves } = await rebucketCards(
        { db, transit: vault.transit, createBucket, prefix, retentionMs: deps.retentionMs },
        input.batchSize,
      );
      for (const move of moves) deps.log.info(move, 'cards moved to the bucket of their purge date');
      return cards;
    },

    async recordSweep(counts: SweepCounts): Promise<void> {
      await audit(db, {
        event: 'SWEEP',
        actor: 'retention',
        method: 'workflow:retentionSweep',
        count: counts.ordersPurged,
        detail: { ...counts },
      });
      deps.log.info(counts, 'retention sweep done');
    },
  };
}
