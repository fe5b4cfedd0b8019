/**
 * The retention sweep's contract: its Schedule, input, result and activities, shared by the workflow, the
 * retention worker, the CLI and the tests. Free of I/O and safe inside the workflow sandbox.
 */

export const RETENTION_SWEEP_WORKFLOW_TYPE = 'retentionSweep';
export const RETENTION_SCHEDULE_ID = 'giftcards-retention-sweep';

export interface SweepInput {
  batchSize?: number;
  /** Upper bound on batches per run; the next scheduled run picks up the rest. */
  maxBatches?: number;
}

export interface SweepPlan {
  dueOrders: string[];
  expiredTokens: number;
  bucketsToDestroy: string[];
  bucketsToCreate: string[];
}

export interface SweepCounts {
  ordersPurged: number;
  cardsDeleted: number;
  tokensDeleted: number;
  /** Cards moved to the bucket of their purge date; absent in sweeps recorded before the step. */
  cardsRebucketed?: number;
  bucketsDestroyed: string[];
  bucketsCreated: string[];
}

export type RetentionSweepWorkflow = (input?: SweepInput) => Promise<SweepCounts>;

export interface RetentionActivities {
  /** What the next sweep would do; reads only. */
  planSweep(): Promise<SweepPlan>;
  purgeDueOrders(input: { batchSize: number }): Promise<{ orders: number; cards: number; tokens: number }>;
  deleteExpiredTokens(): Promise<number>;
  /** Cards moved to the bucket of their purge date (domain/card-buckets.ts), up to `batchSize`. */
  rebucketCards(input: { batchSize: number }): Promise<number>;
  manageKeyBuckets(): Promise<{ created: string[]; destroyed: string[] }>;
  recordSweep(counts: SweepCounts): Promise<void>;
}
