/**
 * Who may use the codec endpoint (DESIGN 3.6): a tool holding the bearer token (the CLI's `--codec-auth`),
 * or an operator's browser holding a session cookie from the endpoint's own login, because the Temporal UI
 * calls the endpoint from the browser and can only send what the browser sends by itself.
 *
 * Sessions live in PostgreSQL (operator_sessions), so every API replica knows them, a logout on one ends
 * the session on all, and a restart signs nobody out.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../lib/db';
import { insertSession, liveSession, revokeSession } from '../../store/operator-sessions';

export const SESSION_COOKIE = 'giftcards_codec_session';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Compares a presented secret with the expected one in time that depends on neither (hashes are equal length). */
export function secretMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(sha256(presented), sha256(expected));
}

export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string, opts: { maxAgeS: number; secure: boolean }): string {
  // Path=/codec: the cookie goes to the codec endpoint and nowhere else on this host. SameSite=Strict still
  // lets the UI send it: the UI (:8233) and the API (:3000) on one host are the same site.
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/codec',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${opts.maxAgeS}`,
    ...(opts.secure ? ['Secure'] : []),
  ].join('; ');
}

/**
 * Random session ids, kept server-side only as their SHA-256 (a database dump does not hand out live
 * sessions) with an expiry in database time and a revocation. Bounded: past `max` live sessions the oldest
 * are revoked, so repeated logins cannot grow the table without end; ended rows are deleted at each login.
 */
export class OperatorSessions {
  constructor(
    private readonly db: Db,
    readonly ttlMs: number,
    private readonly max = 1000,
  ) {}

  /** A new session: the value for the cookie, and a short reference safe to log. */
  async create(): Promise<{ id: string; ref: string; expiresAt: Date }> {
    const id = randomBytes(32).toString('base64url');
    const hash = sha256(id);
    const expiresAt = await insertSession(this.db, hash, this.ttlMs, this.max);
    return { id, ref: refOf(hash), expiresAt };
  }

  /** The live session's log reference and expiry; undefined for an unknown, expired or revoked id. */
  async check(id: string | undefined): Promise<{ ref: string; expiresAt: Date } | undefined> {
    if (!id) return undefined;
    const hash = sha256(id);
    const expiresAt = await liveSession(this.db, hash);
    return expiresAt ? { ref: refOf(hash), expiresAt } : undefined;
  }

  /** Revokes the session for every process; the reference of the session it ended, if it was live. */
  async destroy(id: string | undefined): Promise<string | undefined> {
    if (!id) return undefined;
    const hash = sha256(id);
    return (await revokeSession(this.db, hash)) ? refOf(hash) : undefined;
  }
}

const refOf = (hash: Buffer) => hash.toString('hex').slice(0, 8);
