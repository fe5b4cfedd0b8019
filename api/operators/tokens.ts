/**
 * Operators' access tokens (DESIGN 3.6): JWTs from the operators' identity provider, checked for issuer,
 * audience, signature against the issuer's published keys, expiry and a known role. The keys come from the
 * issuer's JWKS and are refetched when a token names a key not seen yet (the IdP rotated), at most every
 * 30 s, so a flood of made-up key ids cannot turn into a flood of fetches.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import {
  isOperatorRole,
  mayAct,
  type OperatorAction,
  type OperatorIdentity,
  operatorActor,
  ROLE_CLAIM,
} from '../../contracts/operators';
import { type Config, ConfigError } from '../../lib/config';
import type { Db } from '../../lib/db';
import { audit } from '../../store/audit';
import { sendError } from '../http/json-replies';
import { requesterOf } from '../http/requester';

export interface OperatorTokenSettings {
  issuer: string;
  audience: string;
  /** Default `<issuer>/jwks`. */
  jwksUrl?: string;
  /** The least time between two fetches of the keys (default 30 s): a flood of unknown key ids costs one. */
  jwksCooldownMs?: number;
}

export type Verified =
  | { ok: true; operator: OperatorIdentity }
  | { ok: false; status: 401; reason: string; claimed?: { iss?: string; sub?: string } };

export type OperatorTokenVerifier = (authorization: string | undefined) => Promise<Verified>;

export function operatorTokenSettings(cfg: Config): OperatorTokenSettings {
  if (!cfg.OPERATOR_TOKEN_ISSUER) {
    throw new ConfigError(
      'Invalid configuration (see .env.example):\n  OPERATOR_TOKEN_ISSUER: is required by the API (codec endpoint and ops API) but not set',
    );
  }
  return {
    issuer: cfg.OPERATOR_TOKEN_ISSUER.replace(/\/$/, ''),
    audience: cfg.OPERATOR_TOKEN_AUDIENCE,
    jwksUrl: cfg.OPERATOR_JWKS_URL,
  };
}

// Asymmetric only: an HS256 token "signed" with a public key is the classic forgery.
const ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

const short = (v: unknown) => (typeof v === 'string' ? v.slice(0, 200) : undefined);

export function operatorTokenVerifier(settings: OperatorTokenSettings): OperatorTokenVerifier {
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl ?? `${settings.issuer}/jwks`), {
    cooldownDuration: settings.jwksCooldownMs ?? 30_000,
    cacheMaxAge: 10 * 60_000,
  });
  return async (authorization) => {
    const token = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) return { ok: false, status: 401, reason: 'no bearer token' };
    let claimed: { iss?: string; sub?: string } | undefined;
    try {
      const c = decodeJwt(token);
      claimed = { iss: short(c.iss), sub: short(c.sub) };
    } catch {
      return { ok: false, status: 401, reason: 'not a JWT' };
    }
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
      });
      const role = payload[ROLE_CLAIM];
      if (!isOperatorRole(role)) return { ok: false, status: 401, reason: 'no operator role', claimed };
      const username = short(payload.preferred_username) ?? payload.sub!;
      return {
        ok: true,
        operator: {
          issuer: settings.issuer,
          subject: payload.sub!,
          username,
          name: short(payload.name) ?? username,
          role,
        },
      };
    } catch (err) {
      return { ok: false, status: 401, reason: refusalReason(err), claimed };
    }
  };
}

/** What was wrong with a token, in words for the audit row (never the token). */
function refusalReason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `${err.claim} mismatch`;
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWSSignatureVerificationFailed)
    return 'signature not from the issuer';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JOSEError) return err.code;
  return 'invalid token';
}

/**
 * An onRequest hook: the request's operator, verified and allowed `action` (or `actionOf(request)`), or a
 * 401/403 answered before the body is read. Every refusal is audited (OPERATOR_REFUSED): who claimed to be
 * whom, for what, and why; the audit row of a success is the action's own.
 */
export function requireOperator(
  db: Db,
  verify: OperatorTokenVerifier,
  action: OperatorAction | ((request: FastifyRequest) => OperatorAction),
) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const wanted = typeof action === 'function' ? action(request) : action;
    const verified = await verify(request.headers.authorization);
    const method = `${request.method} ${request.routeOptions.url ?? request.url}`;
    const orderId = short((request.params as { orderId?: unknown } | undefined)?.orderId) ?? null;
    if (!verified.ok) {
      await audit(db, {
        orderId,
        event: 'OPERATOR_REFUSED',
        actor: 'unverified',
        method,
        ...requesterOf(request),
        detail: { action: wanted, status: 401, reason: verified.reason, claimed: verified.claimed ?? null },
      });
      request.log.info({ reason: verified.reason, action: wanted }, 'operator token refused');
      return sendError(
        reply.header('www-authenticate', 'Bearer realm="giftcards-ops", error="invalid_token"'),
        401,
        {
          detail: 'a valid operator access token is required',
        },
      );
    }
    const op = verified.operator;
    if (!mayAct(op.role, wanted)) {
      await audit(db, {
        orderId,
        event: 'OPERATOR_REFUSED',
        actor: operatorActor(op),
        method,
        ...requesterOf(request),
        detail: {
          action: wanted,
          status: 403,
          reason: `role ${op.role} may not ${wanted}`,
          ...operatorDetail(op),
        },
      });
      request.log.info({ operator: op.username, role: op.role, action: wanted }, 'operator action refused');
      return sendError(reply, 403, { detail: `the role ${op.role} may not ${wanted}` });
    }
    request.operator = op;
  };
}

/** Who the operator is, for an audit row's detail: the token's subject and issuer, the name, the role. */
export function operatorDetail(op: OperatorIdentity): Record<string, string> {
  return { subject: op.subject, issuer: op.issuer, name: op.name, role: op.role };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified operator (requireOperator), for the routes behind it. */
    operator?: OperatorIdentity;
  }
}
