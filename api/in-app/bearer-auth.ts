/**
 * The customer app's users: `Authorization: Bearer <JWT>`, HS256 with the shared JWT_SECRET. Only HS256 is
 * accepted (so `alg: none` and algorithm-confusion tokens fail), and issuer, audience, expiry and a subject
 * are all required: a token minted for another service, or without an expiry, is not one of ours.
 */
import type { FastifyReply } from 'fastify';
import { jwtVerify } from 'jose';
import { userIdSchema } from '../../domain/orders';
import { sendProblem } from '../http/problems';

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
}

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
  // A shorter HS256 key is guessable offline from any one token.
  if (Buffer.byteLength(settings.secret) < 32) throw new Error('JWT secret must be at least 32 bytes');
  const key = new TextEncoder().encode(settings.secret);

  return async (header) => {
    if (!header) return { ok: false, reason: 'missing' };
    if (header.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'invalid' };
    const token = BEARER.exec(header)?.[1];
    if (!token) return { ok: false, reason: 'invalid' };
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ['exp', 'sub'],
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
