/**
 * Intake binds an order id to its first caller and request (DESIGN 6). The binding is a row of
 * `intake_requests` written in the transaction that starts the order's workflow, so it exists before the
 * workflow does (and before the workflow registers the order): a concurrent request for the same order id
 * waits on the row's insert, then compares with what committed. Only the caller and a keyed fingerprint of
 * the request are kept (domain/orders orderRequestDigest), never the request.
 */
import { timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { Db } from '../../lib/db';

/** new: this request is the order id's first; same: the first was this caller's, with this request. */
export type Binding = 'new' | 'same' | 'conflict';

export async function bindOrderRequest(
  client: pg.PoolClient,
  entry: { orderId: string; caller: string; requestHash: Buffer },
): Promise<Binding> {
  const { rowCount } = await client.query(
    `INSERT INTO intake_requests (order_id, caller, request_hash) VALUES ($1, $2, $3)
     ON CONFLICT (order_id) DO NOTHING`,
    [entry.orderId, entry.caller, entry.requestHash],
  );
  if (rowCount === 1) return 'new';
  const { rows } = await client.query<{ caller: string; request_hash: Buffer }>(
    'SELECT caller, request_hash FROM intake_requests WHERE order_id = $1',
    [entry.orderId],
  );
  const first = rows[0];
  const same =
    first !== undefined &&
    first.caller === entry.caller &&
    timingSafeEqual(first.request_hash, entry.requestHash);
  return same ? 'same' : 'conflict';
}

/**
 * For a first intake request whose order id already had a workflow (the order CLI started it, or intake
 * did before it recorded bindings): the order is the caller's only when the order's row names it. Otherwise
 * the new binding is withdrawn, inside the caller's transaction.
 */
export async function keepBindingIfStartedBy(
  client: pg.PoolClient,
  orderId: string,
  caller: string,
): Promise<boolean> {
  const { rows } = await client.query<{ caller: string | null }>(
    'SELECT caller FROM orders WHERE order_id = $1',
    [orderId],
  );
  if (rows[0]?.caller === caller) return true;
  await client.query('DELETE FROM intake_requests WHERE order_id = $1 AND caller = $2', [orderId, caller]);
  return false;
}

/**
 * The caller an order id is bound to: its binding, or for an order intake started before it recorded
 * bindings, the caller its row names. Undefined when no intake caller started it.
 */
export async function boundCaller(db: Db, orderId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ caller: string }>(
    `SELECT caller FROM intake_requests WHERE order_id = $1
     UNION ALL SELECT caller FROM orders WHERE order_id = $1 AND caller IS NOT NULL
     LIMIT 1`,
    [orderId],
  );
  return rows[0]?.caller;
}
