/**
 * The intake's store: the only module that reads or writes `intake_requests` (the first writer of each
 * order id, DESIGN 3.10) and `intake_signatures` (the replay log). Only the API's role may write either.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Binds the order id to the caller and request hash, unless bound already; whether this call bound it. */
export async function insertBinding(
  client: Queryable,
  entry: { orderId: string; caller: string; requestHash: Buffer },
): Promise<boolean> {
  const { rowCount } = await client.query({
    name: 'intake-bind',
    text: `INSERT INTO intake_requests (order_id, caller, request_hash) VALUES ($1, $2, $3)
           ON CONFLICT (order_id) DO NOTHING`,
    values: [entry.orderId, entry.caller, entry.requestHash],
  });
  return rowCount === 1;
}

/** The order id's first writer. */
export async function bindingOf(
  client: Queryable,
  orderId: string,
): Promise<{ caller: string; requestHash: Buffer } | undefined> {
  const { rows } = await client.query<{ caller: string; request_hash: Buffer }>({
    name: 'intake-binding-of',
    text: 'SELECT caller, request_hash FROM intake_requests WHERE order_id = $1',
    values: [orderId],
  });
  const row = rows[0];
  return row && { caller: row.caller, requestHash: row.request_hash };
}

/** Lets the order id go again (its workflow was started by someone else). */
export async function deleteBinding(client: Queryable, orderId: string, caller: string): Promise<void> {
  await client.query({
    name: 'intake-unbind',
    text: 'DELETE FROM intake_requests WHERE order_id = $1 AND caller = $2',
    values: [orderId, caller],
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/** Records a signature (its SHA-256); false when it was seen before (a replay). */
export async function recordSignature(
  client: Queryable,
  entry: { signature: Buffer; caller: string; timestamp: string },
): Promise<boolean> {
  const { rowCount } = await client.query({
    name: 'intake-signature',
    text: `INSERT INTO intake_signatures (signature_hash, caller, signed_at)
           VALUES ($1, $2, to_timestamp($3::bigint))
           ON CONFLICT (signature_hash) DO NOTHING`,
    values: [sha256(entry.signature), entry.caller, entry.timestamp],
  });
  return rowCount === 1;
}

/** Forgets a signature, so that the same request may come again (it was not carried out). */
export async function forgetSignature(db: Queryable, signature: Buffer): Promise<void> {
  await db.query({
    name: 'intake-forget-signature',
    text: 'DELETE FROM intake_signatures WHERE signature_hash = $1',
    values: [sha256(signature)],
  });
}

/** Deletes signatures signed before `olderThanMs` ago; how many. */
export async function purgeSignatures(db: Queryable, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query({
    name: 'intake-purge-signatures',
    text: `DELETE FROM intake_signatures
            WHERE signed_at < now() - make_interval(secs => $1::double precision / 1000)`,
    values: [olderThanMs],
  });
  return rowCount ?? 0;
}
