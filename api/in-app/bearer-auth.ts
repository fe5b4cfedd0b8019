/**
 * The customer app's users: `Authorization: Bearer <JWT>`, signed by the app's issuer and verified against
 * the keys it publishes (JWT_JWKS_URL, a JWKS): this API holds no key that could mint a token, so neither a
 * leak of its configuration nor of its memory lets anyone sign in as a user. Asymmetric algorithms only (so
 * `alg: none`, HS256 and algorithm-confusion tokens fail), and issuer, audience, expiry, issue time and a
 * subject are all required, with a maximum age by `iat`: a token minted for another service, or long ago,
 * is not one we take.
 */
import type { FastifyReply } from 'fastify';
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { userIdSchema } from '../../domain/orders';
import { sendProblem } from '../http/problems';

export interface JwtSettings {
  /** The issuer's published keys (a JWKS document); fetched on demand, cached, refetched for a new `kid`. */
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** The oldest `iat` accepted, whatever the token's `exp` says. */
  maxAgeMs: number;
}

/** What an app issuer signs with; never a shared-secret (HS*) algorithm. */
const APP_TOKEN_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

export type Authentication = { ok: true; userId: string } | { ok: false; reason: 'missing' | 'invalid' };

// Three base64url segments; an unsigned token's empty third segment is let through to be refused by jose.
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;
// Far above any real token: longer headers are refused before any parsing.
const MAX_TOKEN_LENGTH = 4096;
// Small allowance for clock drift between the app's token issuer and this API.
const CLOCK_TOLERANCE_S = 5;

export function createAuthenticator(
  settings: JwtSettings,
): (header: string | undefined) => Promise<Authentication> {
  const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5000 });

  return async (header) => {
    if (!header) return { ok: false, reason: 'missing' };
    if (header.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'invalid' };
    const token = BEARER.exec(header)?.[1];
    if (!token) return { ok: false, reason: 'invalid' };
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: APP_TOKEN_ALGORITHMS,
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: `${Math.floor(settings.maxAgeMs / 1000)}s`,
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      const userId = userIdSchema.safeParse(payload.sub);
      return userId.success ? { ok: true, userId: userId.data } : { ok: false, reason: 'invalid' };
    } catch {
      // Which check failed is for the logs of the issuer, not for whoever holds the token.
      return { ok: false, reason: 'invalid' };
    }
  };
}

/** RFC 6750: a challenge always; `invalid_token` only when a token was presented. */
export function sendUnauthorized(reply: FastifyReply, reason: 'missing' | 'invalid'): FastifyReply {
  reply.header(
    'www-authenticate',
    reason === 'missing' ? 'Bearer realm="giftcards"' : 'Bearer realm="giftcards", error="invalid_token"',
  );
  return sendProblem(reply, 401);
}
