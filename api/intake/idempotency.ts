/**
 * Intake's Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): per caller and key, the fingerprint
 * of the first request (domain/orders orderRequestDigest: keyed, the request holds an email address) and
 * the answer it got. The same key and request get that answer again; the same key with another request is
 * refused (422); a key whose first request is still being carried out is refused too (409), which a
 * transaction-scoped advisory lock on the caller and key tells. Answers are kept IDEMPOTENCY_TTL_HOURS,
 * then deleted as requests come in (at most once a minute per process).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { Db } from '../../lib/db';

export const IDEMPOTENCY_TTL_HOURS = 24;
const PURGE_EVERY_MS = 60_000;

export interface StoredAnswer {
  status: number;
  body: unknown;
}

/** The lock's key: 64 bits of SHA-256 over the caller and the key (a collision is 2^-64: a spurious 409). */
function lockKey(caller: string, key: string): string {
  return createHash('sha256').update(caller).update('\0').update(key).digest().readBigInt64BE().toString();
}

/**
 * Takes the key for the rest of the caller's transaction; false while another request holds it (the first
 * request with the key, still being carried out).
 */
export async function lockIdempotencyKey(
  client: pg.PoolClient,
  caller: string,
  key: string,
): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>(
    'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked',
    [lockKey(caller, key)],
  );
  return rows[0]?.locked === true;
}

/** The answer kept for the key: `same` when the request is the one the key was first used with. */
export async function storedAnswer(
  client: pg.PoolClient,
  caller: string,
  key: string,
  requestHash: Buffer,
): Promise<(StoredAnswer & { same: boolean }) | undefined> {
  const { rows } = await client.query<{ request_hash: Buffer; status: number; response: unknown }>(
    `SELECT request_hash, status, response FROM intake_idempotency_keys
      WHERE caller = $1 AND idempotency_key = $2 AND expires_at > now()`,
    [caller, key],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { status: row.status, body: row.response, same: timingSafeEqual(row.request_hash, requestHash) };
}

/** Keeps the answer for the key, in the transaction that produced it (replacing an expired one). */
export async function keepAnswer(
  client: pg.PoolClient,
  entry: { caller: string; key: string; requestHash: Buffer; answer: StoredAnswer },
): Promise<void> {
  await client.query(
    `INSERT INTO intake_idempotency_keys (caller, idempotency_key, request_hash, status, response, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6))
     ON CONFLICT (caller, idempotency_key) DO UPDATE
        SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response = EXCLUDED.response,
            created_at = now(), expires_at = EXCLUDED.expires_at
      WHERE intake_idempotency_keys.expires_at <= now()`,
    [
      entry.caller,
      entry.key,
      entry.requestHash,
      entry.answer.status,
      JSON.stringify(entry.answer.body),
      IDEMPOTENCY_TTL_HOURS,
    ],
  );
}

export function idempotencyPurger(db: Db): () => Promise<number> {
  let last = 0;
  return async () => {
    const now = Date.now();
    if (now - last < PURGE_EVERY_MS) return 0;
    last = now;
    const { rowCount } = await db.query('DELETE FROM intake_idempotency_keys WHERE expires_at <= now()');
    return rowCount ?? 0;
  };
}
