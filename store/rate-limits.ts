/**
 * The shared rate limits' counters: the only module that reads or writes `rate_limit_counters` (one row per
 * bucket and client; all times the database's, so replicas whose clocks disagree still agree on a window).
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Ended windows deleted per sweep. */
export const SWEEP_BATCH = 5_000;

// Each SET expression sees the row as it was before this update, so both agree on whether it had ended.
const INCREMENT = `
  INSERT INTO rate_limit_counters AS c (bucket, key, count, window_ends)
  VALUES ($1, $2, 1, now() + $3::integer * interval '1 millisecond')
  ON CONFLICT (bucket, key) DO UPDATE SET
    count = CASE WHEN c.window_ends <= now() THEN 1 ELSE LEAST(c.count, 2147483646) + 1 END,
    window_ends = CASE WHEN c.window_ends <= now() THEN EXCLUDED.window_ends ELSE c.window_ends END
  RETURNING count, greatest(0, extract(epoch FROM window_ends - now()) * 1000)::float8 AS ttl_ms`;

// The outer condition is checked again on the row as it is when deleted: a window that restarted
// meanwhile stays.
const SWEEP = `
  DELETE FROM rate_limit_counters c
   USING (SELECT bucket, key FROM rate_limit_counters WHERE window_ends < now() LIMIT ${SWEEP_BATCH}) ended
   WHERE c.bucket = ended.bucket AND c.key = ended.key AND c.window_ends < now()`;

/** Counts one request of a client in a bucket (the window starts at its first); the count and time left. */
export async function increment(
  db: Queryable,
  bucket: string,
  key: string,
  windowMs: number,
): Promise<{ count: number; ttlMs: number }> {
  // Named: each connection plans the statement once.
  const { rows } = await db.query<{ count: number; ttl_ms: number }>({
    name: 'rate-limit-increment',
    text: INCREMENT,
    values: [bucket, key, windowMs],
  });
  return { count: rows[0]!.count, ttlMs: rows[0]!.ttl_ms };
}

/** Deletes up to SWEEP_BATCH ended windows; how many. */
export async function sweepEnded(db: Queryable): Promise<number> {
  const { rowCount } = await db.query({ name: 'rate-limit-sweep', text: SWEEP });
  return rowCount ?? 0;
}
