/**
 * The intake's store: the only module that reads or writes `intake_requests` (the first writer of each
 * order id, DESIGN 3.10), `intake_signatures` (the replay log) and `intake_idempotency_keys` (the answers
 * kept for an Idempotency-Key). Only the API's role may write them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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

/** An answer kept for an Idempotency-Key. */
export interface StoredAnswer {
  status: number;
  body: unknown;
}

/** The lock's key: 64 bits of SHA-256 over the caller and the key (a collision is 2^-64: a spurious 409). */
function idempotencyLockKey(caller: string, key: string): string {
  return createHash('sha256').update(caller).update('\0').update(key).digest().readBigInt64BE().toString();
}

/**
 * Takes the caller's key for the rest of the client's transaction; false while another request holds it
 * (the first request with the key, still being carried out).
 */
export async function lockIdempotencyKey(
  client: pg.PoolClient,
  caller: string,
  key: string,
): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>({
    name: 'intake-idempotency-lock',
    text: 'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked',
    values: [idempotencyLockKey(caller, key)],
  });
  return rows[0]?.locked === true;
}

/** The answer kept for the caller's key, unexpired: `same` when the request is the one the key was first used with. */
export async function storedAnswer(
  client: Queryable,
  caller: string,
  key: string,
  requestHash: Buffer,
): Promise<(StoredAnswer & { same: boolean }) | undefined> {
  const { rows } = await client.query<{ request_hash: Buffer; status: number; response: unknown }>({
    name: 'intake-idempotency-answer',
    text: `SELECT request_hash, status, response FROM intake_idempotency_keys
            WHERE caller = $1 AND idempotency_key = $2 AND expires_at > now()`,
    values: [caller, key],
  });
  const row = rows[0];
  if (!row) return undefined;
  return { status: row.status, body: row.response, same: timingSafeEqual(row.request_hash, requestHash) };
}

/** Keeps the answer for the key for `ttlHours` (replacing an expired one), in the transaction that produced it. */
export async function keepAnswer(
  client: Queryable,
  entry: { caller: string; key: string; requestHash: Buffer; answer: StoredAnswer; ttlHours: number },
): Promise<void> {
  await client.query({
    name: 'intake-idempotency-keep',
    text: `INSERT INTO intake_idempotency_keys (caller, idempotency_key, request_hash, status, response, expires_at)
           VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6))
           ON CONFLICT (caller, idempotency_key) DO UPDATE
              SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response = EXCLUDED.response,
                  created_at = now(), expires_at = EXCLUDED.expires_at
            WHERE intake_idempotency_keys.expires_at <= now()`,
    values: [
      entry.caller,
      entry.key,
      entry.requestHash,
      entry.answer.status,
      JSON.stringify(entry.answer.body),
      entry.ttlHours,
    ],
  });
}

/** Deletes the expired answers; how many. */
export async function purgeIdempotencyKeys(db: Queryable): Promise<number> {
  const { rowCount } = await db.query({
    name: 'intake-idempotency-purge',
    text: 'DELETE FROM intake_idempotency_keys WHERE expires_at <= now()',
  });
  return rowCount ?? 0;
}
