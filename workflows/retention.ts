/**
 * The retention sweep, run by a Temporal Schedule as a backstop for orders whose own workflow was
 * terminated or lost: purge every order past its purge time (bounded batches), drop expired token rows,
 * and destroy key buckets past retention. Every step is idempotent, so a re-run is harmless.
 */
import * as wf from '@temporalio/workflow';
import type { RetentionActivities, SweepCounts, SweepInput } from '../contracts/retention';

const sweep = wf.proxyActivities<RetentionActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
});

/** What changed the sweep's story (docs/contributing.md, "Changing the order's story"). */
const RETENTION_PATCHES = {
  /** Cards whose order outlives their bucket move to the bucket of their purge date before buckets are destroyed. */
  rebucketCards: 'rebucket-cards',
} as const;

export async function retentionSweep(input: SweepInput = {}): Promise<SweepCounts> {
  const batchSize = input.batchSize ?? 500;
  const maxBatches = input.maxBatches ?? 200;
  const counts: SweepCounts = {
    ordersPurged: 0,
    cardsDeleted: 0,
    tokensDeleted: 0,
    bucketsDestroyed: [],
    bucketsCreated: [],
  };
  for (let i = 0; i < maxBatches; i++) {
    const batch = await sweep.purgeDueOrders({ batchSize });
    counts.ordersPurged += batch.orders;
    counts.cardsDeleted += batch.cards;
    counts.tokensDeleted += batch.tokens;
    if (batch.orders < batchSize) break;
  }
  counts.tokensDeleted += await sweep.deleteExpiredTokens();
  if (wf.patched(RETENTION_PATCHES.rebucketCards)) {
    counts.cardsRebucketed = 0;
    for (let i = 0; i < maxBatches; i++) {
      const moved = await sweep.rebucketCards({ batchSize });
      counts.cardsRebucketed += moved;
      if (moved < batchSize) break;
    }
  }
  const keys = await sweep.manageKeyBuckets();
  counts.bucketsDestroyed = keys.destroyed;
  counts.bucketsCreated = keys.created;
  await sweep.recordSweep(counts);
  return counts;
}
