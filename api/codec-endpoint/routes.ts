/**
 * The remote codec endpoint (DESIGN 3.6): `POST /codec/encode` and `/codec/decode` in Temporal's remote
 * codec JSON, for the Temporal UI (operator's browser, session cookie) and the CLI (bearer token). Every
 * request is authenticated before its body is read; without a credential nothing is decoded.
 *
 * Registered with the prefix `/codec`, so its CORS (the UI's exact origin, with credentials) and its login
 * limit apply to these routes only. Sessions and the login limit's counters are in PostgreSQL, shared by
 * every API process.
 */
import cors from '@fastify/cors';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isCodecEncrypted, PayloadCodecError } from '../../lib/codec';
import { type Config, ConfigError, durationMs } from '../../lib/config';
import type { Db } from '../../lib/db';
import { audit } from '../../store/audit';
import { sendError } from '../http/json-replies';
import { clientIp, createLimiters } from '../http/rate-limits';
import { requesterOf } from '../http/requester';
import {
  bearerToken,
  cookieValue,
  OperatorSessions,
  SESSION_COOKIE,
  secretMatches,
  sessionCookie,
} from './operator-auth';
import { loginPage, signedInPage, signedOutPage } from './operator-pages';
import { payloadsFromJson, payloadsToJson } from './wire';

export interface CodecEndpointSettings {
  codec: PayloadCodec;
  /** CODEC_AUTH_TOKEN: `Authorization: Bearer <token>` for tools. */
  authToken: string;
  /** OPERATOR_PASSWORD: the browser login's password. */
  operatorPassword: string;
  sessionTtlMs: number;
  /** Exact origins whose pages may call the endpoint with the operator's cookie (the Temporal UI's). */
  corsOrigins: string[];
  /** Where the signed-in page points the operator. */
  uiUrl: string;
  loginAttemptsPerMinute?: number;
}

export interface CodecRoutesOptions extends CodecEndpointSettings {
  /**
   * Where operator sessions live, shared by every API process; every decode request also leaves an audit
   * row there (who, how many payloads) before it is answered.
   */
  db: Db;
  /** Secure cookies when the API is served over https. */
  secureCookie: boolean;
}

// The UI decodes a whole history page at once; a single payload is capped far below this by Temporal.
const BODY_LIMIT = 4 * 1024 * 1024;
const LOGIN_ATTEMPTS_PER_MINUTE = 10;

/** The endpoint's settings from configuration; the API does not start without its secrets. */
export function codecEndpointSettings(cfg: Config): Omit<CodecEndpointSettings, 'codec'> {
  const missing = (['CODEC_AUTH_TOKEN', 'OPERATOR_PASSWORD'] as const).filter((name) => !cfg[name]);
  if (missing.length) {
    throw new ConfigError(
      `Invalid configuration (see .env.example):\n  ${missing
        .map((name) => `${name}: is required by the API (codec endpoint) but not set`)
        .join('\n  ')}`,
    );
  }
  return {
    authToken: cfg.CODEC_AUTH_TOKEN!,
    operatorPassword: cfg.OPERATOR_PASSWORD!,
    sessionTtlMs: durationMs(cfg.OPERATOR_SESSION_TTL),
    corsOrigins: corsOrigins(cfg),
    uiUrl: cfg.TEMPORAL_UI_URL,
  };
}

function corsOrigins(cfg: Config): string[] {
  const list = cfg.CODEC_CORS_ORIGINS?.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (!list?.length) return [new URL(cfg.TEMPORAL_UI_URL).origin];
  return list.map((o) => {
    try {
      const origin = new URL(o).origin;
      if (origin === 'null') throw new Error('opaque origin');
      return origin;
    } catch {
      throw new ConfigError(
        'CODEC_CORS_ORIGINS: expected comma-separated origins such as http://127.0.0.1:8233',
      );
    }
  });
}

type Principal = { via: 'token' } | { via: 'session'; session: string };

export async function codecRoutes(app: FastifyInstance, opts: CodecRoutesOptions): Promise<void> {
  const sessions = new OperatorSessions(opts.db, opts.sessionTtlMs);
  const allowed = new Set(opts.corsOrigins);
  const endpoint = `${app.publicOrigin}/codec`;

  // A foreign origin gets no CORS header at all (not even Allow-Credentials), and its preflight a 404.
  await app.register(cors, {
    origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: true,
    methods: ['POST'],
    allowedHeaders: ['content-type', 'x-namespace', 'authorization'],
    maxAge: 600,
  });
  // Attempts, not failures: the right password from an address that spent its attempts waits too.
  const [loginAttempts] = await createLimiters(app, [
    { name: 'codec:login', max: opts.loginAttemptsPerMinute ?? LOGIN_ATTEMPTS_PER_MINUTE, key: clientIp },
  ]);

  const principalOf = async (request: FastifyRequest): Promise<Principal | undefined> => {
    if (secretMatches(bearerToken(request.headers.authorization), opts.authToken)) return { via: 'token' };
    const session = await sessions.check(cookieValue(request.headers.cookie, SESSION_COOKIE));
    return session ? { via: 'session', session: session.ref } : undefined;
  };

  app.decorateRequest('codecPrincipal', null);
  // onRequest, before the body is read: an unauthenticated caller costs no parsing and sees no payload.
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = await principalOf(request);
    if (!principal) {
      request.log.info({ req: request }, 'codec request without valid credentials');
      return sendError(reply.header('www-authenticate', 'Bearer realm="codec"'), 401);
    }
    request.codecPrincipal = principal;
  };

  /**
   * Decodes what the codec encrypted. A payload it did not encrypt (sent by a client without the codec:
   * workers refused it) goes back unchanged, so the UI still shows the rest of the history: it is what the
   * UI would show without the endpoint, and nothing is decrypted for it.
   */
  const decodeForDisplay = async (payloads: Payload[]): Promise<Payload[]> => {
    const decoded = await opts.codec.decode(payloads.filter(isCodecEncrypted));
    let next = 0;
    return payloads.map((p) => (isCodecEncrypted(p) ? decoded[next++]! : p));
  };

  const auditDecode = (request: FastifyRequest, payloads: Payload[], outcome: 'decoded' | 'refused') => {
    const principal = request.codecPrincipal!;
    const encrypted = payloads.filter(isCodecEncrypted).length;
    return audit(opts.db, {
      event: 'CODEC_DECODE',
      actor: principal.via === 'token' ? 'codec-token' : `operator-session:${principal.session}`,
      method: 'POST /codec/decode',
      ...requesterOf(request),
      count: outcome === 'decoded' ? encrypted : 0,
      detail: { outcome, payloads: payloads.length, notEncrypted: payloads.length - encrypted },
    });
  };

  for (const op of ['encode', 'decode'] as const) {
    app.post(`/${op}`, { bodyLimit: BODY_LIMIT, onRequest: authenticate }, async (request, reply) => {
      if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
        return sendError(reply, 415);
      }
      // proto3 JSON in full (wire.ts): `{}` is an empty list, as the Go CLI sends a query without arguments.
      const parsed = payloadsFromJson(request.body);
      if (!parsed.ok) {
        request.log.info({ reason: parsed.reason }, `codec ${op}: malformed body`);
        return sendError(reply, 400, { detail: `not a Payloads message: ${parsed.reason}` });
      }
      const payloads = parsed.payloads;
      let result: Payload[];
      try {
        result = op === 'encode' ? await opts.codec.encode(payloads) : await decodeForDisplay(payloads);
      } catch (err) {
        if (err instanceof PayloadCodecError) {
          request.log.warn(
            { err: { type: err.name, message: err.message } },
            `codec ${op}: payload rejected`,
          );
          if (op === 'decode') await auditDecode(request, payloads, 'refused');
          return sendError(reply, 400, { detail: `a payload could not be ${op}d` });
        }
        request.log.error({ err }, `codec ${op} failed`);
        return sendError(reply, 503);
      }
      // No audit row, no plaintext: a database that cannot record the decode fails the request.
      if (op === 'decode') await auditDecode(request, payloads, 'decoded');
      request.log.debug({ ...request.codecPrincipal, count: result.length }, `codec ${op}`);
      return payloadsToJson(result);
    });
  }

  app.get('/login', async (request, reply) => {
    const session = await sessions.check(cookieValue(request.headers.cookie, SESSION_COOKIE));
    reply.type('text/html; charset=utf-8');
    if (!session) return loginPage(request.cspNonce);
    return signedInPage(request.cspNonce, {
      until: session.expiresAt,
      uiUrl: opts.uiUrl,
      endpoint,
    });
  });

  app.post('/login', { onRequest: loginAttempts! }, async (request, reply) => {
    const password = (request.body as { password?: unknown } | undefined)?.password;
    if (
      typeof password !== 'string' ||
      password.length > 1024 ||
      !secretMatches(password, opts.operatorPassword)
    ) {
      request.log.warn({ req: request, event: 'operator_login_failed' }, 'operator sign-in refused');
      return reply
        .code(401)
        .type('text/html; charset=utf-8')
        .send(loginPage(request.cspNonce, 'Wrong password.'));
    }
    const session = await sessions.create();
    request.log.info(
      { req: request, event: 'operator_login', session: session.ref },
      'operator signed in to the codec endpoint',
    );
    return reply
      .header(
        'set-cookie',
        sessionCookie(session.id, {
          maxAgeS: Math.floor(opts.sessionTtlMs / 1000),
          secure: opts.secureCookie,
        }),
      )
      .redirect('/codec/login', 303);
  });

  app.post('/logout', async (request, reply) => {
    const ended = await sessions.destroy(cookieValue(request.headers.cookie, SESSION_COOKIE));
    if (ended)
      request.log.info({ req: request, event: 'operator_logout', session: ended }, 'operator signed out');
    return reply
      .header('set-cookie', sessionCookie('', { maxAgeS: 0, secure: opts.secureCookie }))
      .type('text/html; charset=utf-8')
      .send(signedOutPage(request.cspNonce));
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who passed the codec endpoint's authentication (for its log lines). */
    codecPrincipal: Principal | null;
  }
}
