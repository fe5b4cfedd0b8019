import pg from 'pg';
import { config } from './config';

export type Db = pg.Pool;

/** A pool for the configured database; callers own it and end it on shutdown. */
export function createPool(url = config().DATABASE_URL, max = config().DATABASE_POOL_MAX): Db {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'giftcards' });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/** Thrown inside withTransaction to roll back and still answer: withTransaction returns its result. */
export class Rollback<T> extends Error {
  constructor(readonly result: T) {
    super('rolled back');
  }
}

/**
 * Runs fn in a transaction, committing on success and rolling back on any error; a thrown Rollback rolls
 * back too, and its result is returned.
 */
export async function withTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    if (err instanceof Rollback) return err.result as T;
    throw err;
  } finally {
    client.release();
  }
}
