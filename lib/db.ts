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

/** Runs fn in a transaction, committing on success and rolling back on any error. */
export async function withTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
