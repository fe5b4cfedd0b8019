/**
 * Who may use the codec endpoint (DESIGN 3.6): a tool holding the bearer token (the CLI's `--codec-auth`),
 * or an operator's browser holding a session cookie from the endpoint's own login, because the Temporal UI
 * calls the endpoint from the browser and can only send what the browser sends by itself.
 *
 * Sessions live in this process's memory: a restart signs every operator out, and several API replicas
 * behind one address need sticky sessions (or a shared store) for the login to stick.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

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
 * Random session ids, kept server-side only as their SHA-256 (a heap dump does not hand out live sessions)
 * with an expiry. Bounded: past `max` live sessions the oldest is dropped, so repeated logins cannot grow
 * memory without end.
 */
export class OperatorSessions {
  private readonly sessions = new Map<string, number>();

  constructor(
    readonly ttlMs: number,
    private readonly max = 1000,
  ) {}

  /** A new session: the value for the cookie, and a short reference safe to log. */
  create(now = Date.now()): { id: string; ref: string; expiresAt: number } {
    this.prune(now);
    while (this.sessions.size >= this.max) {
      this.sessions.delete(this.sessions.keys().next().value as string);
    }
    const id = randomBytes(32).toString('base64url');
    const key = sha256(id).toString('hex');
    const expiresAt = now + this.ttlMs;
    this.sessions.set(key, expiresAt);
    return { id, ref: key.slice(0, 8), expiresAt };
  }

  /** The live session's log reference and expiry; undefined for an unknown or expired id. */
  check(id: string | undefined, now = Date.now()): { ref: string; expiresAt: number } | undefined {
    if (!id) return undefined;
    const key = sha256(id).toString('hex');
    const expiresAt = this.sessions.get(key);
    if (expiresAt === undefined) return undefined;
    if (expiresAt <= now) {
      this.sessions.delete(key);
      return undefined;
    }
    return { ref: key.slice(0, 8), expiresAt };
  }

  destroy(id: string | undefined): string | undefined {
    if (!id) return undefined;
    const key = sha256(id).toString('hex');
    return this.sessions.delete(key) ? key.slice(0, 8) : undefined;
  }

  private prune(now: number): void {
    for (const [key, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(key);
  }
}
