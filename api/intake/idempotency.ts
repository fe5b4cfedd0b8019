/**
 * Intake's Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): per caller and key, the fingerprint
 * of the first request (domain/orders orderRequestDigest: keyed, the request holds an email address) and
 * the answer it got. The same key and request get that answer again; the same key with another request is
 * refused (422); a key whose first request is still being carried out is refused too (409), which a
 * transaction-scoped advisory lock on the caller and key tells. Answers are kept IDEMPOTENCY_TTL_HOURS,
 * then deleted as requests come in (at most once a minute per process). The statements: store/intake.ts.
 */
import type pg from 'pg';
import type { Db } from '../../lib/db';
import { keepAnswer as keep, purgeIdempotencyKeys, type StoredAnswer } from '../../store/intake';

export { lockIdempotencyKey, type StoredAnswer, storedAnswer } from '../../store/intake';

export const IDEMPOTENCY_TTL_HOURS = 24;
const PURGE_EVERY_MS = 60_000;

/** Keeps the answer for the key, in the transaction that produced it (replacing an expired one). */
export async function keepAnswer(
  client: pg.PoolClient,
  entry: { caller: string; key: string; requestHash: Buffer; answer: StoredAnswer },
): Promise<void> {
  await keep(client, { ...entry, ttlHours: IDEMPOTENCY_TTL_HOURS });
}

export function idempotencyPurger(db: Db): () => Promise<number> {
  let last = 0;
  return async () => {
    const now = Date.now();
    if (now - last < PURGE_EVERY_MS) return 0;
    last = now;
    return purgeIdempotencyKeys(db);
  };
}
