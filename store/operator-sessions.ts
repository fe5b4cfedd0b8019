/**
 * The codec endpoint's operator sessions: the only module that reads or writes `operator_sessions` (only
 * the SHA-256 of each session id).
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** A new session, after the ended ones went; past `max` live sessions the oldest are revoked. */
export async function insertSession(db: Queryable, hash: Buffer, ttlMs: number, max: number): Promise<Date> {
  await db.query({
    name: 'sessions-ended',
    text: 'DELETE FROM operator_sessions WHERE expires_at <= now()',
  });
  const { rows } = await db.query<{ expires_at: Date }>({
    name: 'sessions-insert',
    text: `INSERT INTO operator_sessions (session_hash, expires_at)
           VALUES ($1, now() + $2::integer * interval '1 millisecond') RETURNING expires_at`,
    values: [hash, ttlMs],
  });
  await db.query({
    name: 'sessions-bound',
    text: `UPDATE operator_sessions SET revoked_at = now()
            WHERE session_hash IN (SELECT session_hash FROM operator_sessions
                                    WHERE revoked_at IS NULL AND expires_at > now()
                                    ORDER BY created_at DESC, session_hash OFFSET $1)`,
    values: [max],
  });
  return rows[0]!.expires_at;
}

/** A live session's expiry. */
export async function liveSession(db: Queryable, hash: Buffer): Promise<Date | undefined> {
  const { rows } = await db.query<{ expires_at: Date }>({
    name: 'sessions-live',
    text: `SELECT expires_at FROM operator_sessions
            WHERE session_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
    values: [hash],
  });
  return rows[0]?.expires_at;
}

/** Revokes a live session; whether it was live. */
export async function revokeSession(db: Queryable, hash: Buffer): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'sessions-revoke',
    text: `UPDATE operator_sessions SET revoked_at = now()
            WHERE session_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
    values: [hash],
  });
  return (rowCount ?? 0) > 0;
}
