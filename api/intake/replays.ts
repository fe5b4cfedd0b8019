/**
 * The intake replay log: the SHA-256 of every accepted signature, with the timestamp it was signed for. A
 * signature can be replayed only while its timestamp is inside the window, so rows well past the window
 * protect nothing and are purged as requests come in (at most once a minute per process).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Db } from '../../lib/db';

const PURGE_EVERY_MS = 60_000;

/** True when the signature is new (and is now recorded, as part of the caller's transaction). */
export async function recordSignature(
  client: pg.PoolClient,
  entry: { signature: Buffer; caller: string; timestamp: string },
): Promise<boolean> {
  // A concurrent identical request waits here for the first one's transaction, then sees the conflict.
  const { rowCount } = await client.query(
    `INSERT INTO intake_signatures (signature_hash, caller, signed_at)
     VALUES ($1, $2, to_timestamp($3::bigint))
     ON CONFLICT (signature_hash) DO NOTHING`,
    [createHash('sha256').update(entry.signature).digest(), entry.caller, entry.timestamp],
  );
  return rowCount === 1;
}

/**
 * Forgets an accepted signature whose request then could not be carried out at all (Temporal unreachable):
 * the caller's retry of that very request is then a retry, not a replay.
 */
export async function forgetSignature(db: Db, signature: Buffer): Promise<void> {
  await db.query('DELETE FROM intake_signatures WHERE signature_hash = $1', [
    createHash('sha256').update(signature).digest(),
  ]);
}

export function replayLogPurger(db: Db, windowMs: number): () => Promise<number> {
  let last = 0;
  return async () => {
    const now = Date.now();
    if (now - last < PURGE_EVERY_MS) return 0;
    last = now;
    // Twice the window: the database's clock and this process's may disagree a little.
    const { rowCount } = await db.query(
      `DELETE FROM intake_signatures
        WHERE signed_at < now() - make_interval(secs => $1::double precision / 1000)`,
      [2 * windowMs],
    );
    return rowCount ?? 0;
  };
}
