import pg from 'pg';
import { config, type DatabaseComponent, databaseUrl } from './config';
import { logger } from './logger';

export type Db = pg.Pool;

/**
 * A pool for the configured database; callers own it and end it on shutdown. A server restart or a
 * terminated backend (57P01) must cost the queries in flight, never the process: pg emits 'error' on the
 * pool for idle clients and on the client itself for one that is checked out (inside a transaction,
 * waiting on another call), and an 'error' event without a listener kills Node.
 */
export function createPool(url: string, max = config().DATABASE_POOL_MAX): Db {
  // A database that does not answer fails a connection attempt after 10 s instead of holding a step until
  // its activity times out.
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: 'giftcards',
    connectionTimeoutMillis: 10_000,
  });
  const log = logger().child({ component: 'db' });
  const lost = (err: Error) =>
    log.warn({ code: (err as { code?: string }).code }, 'database connection lost');
  pool.on('error', lost);
  pool.on('connect', (client) => client.on('error', lost));
  return pool;
}

/** A pool of one component's own database role (databaseUrl: `<COMPONENT>_DATABASE_URL`). */
export function componentPool(component: DatabaseComponent, max = config().DATABASE_POOL_MAX): Db {
  return createPool(databaseUrl(component), max);
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
  let broken: unknown;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
      broken = rollbackErr;
    });
    if (err instanceof Rollback) return err.result as T;
    throw err;
  } finally {
    // A connection that could not even roll back is dead: destroy it rather than hand it to the next caller.
    client.release(broken instanceof Error ? broken : undefined);
  }
}
