/**
 * The remote codec endpoint (DESIGN 3.6): `POST /codec/encode` and `/codec/decode` in Temporal's remote
 * codec JSON, for the Temporal UI (which passes the signed-in operator's own access token) and the CLI
 * (`--codec-auth "Bearer $(stack.sh operator-token <user>)"`). Served on the API's internal listener only
 * (api/internal.ts), never on the customers' port. Every request is authenticated before its body is read:
 * without a verified operator token whose role may decode, nothing is decoded, and the refusal is audited.
 *
 * Registered with the prefix `/codec`, so its CORS (the UI's exact origin) applies to these routes only.
 */
import cors from '@fastify/cors';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { operatorActor } from '../../contracts/operators';
import { isCodecEncrypted, PayloadCodecError } from '../../lib/codec';
import { type Config, ConfigError } from '../../lib/config';
import type { Db } from '../../lib/db';
import { audit } from '../../store/audit';
import { sendError } from '../http/json-replies';
import { requesterOf } from '../http/requester';
import { type OperatorTokenVerifier, operatorDetail, requireOperator } from '../operators/tokens';
import { payloadsFromJson, payloadsToJson } from './wire';

export interface CodecEndpointSettings {
  codec: PayloadCodec;
  /** Exact origins whose pages may call the endpoint (the Temporal UI's). */
  corsOrigins: string[];
}

export interface CodecRoutesOptions extends CodecEndpointSettings {
  /** Every decode request leaves an audit row here (who, how many payloads) before it is answered. */
  db: Db;
  verifyOperator: OperatorTokenVerifier;
}

// The UI decodes a whole history page at once; a single payload is capped far below this by Temporal.
const BODY_LIMIT = 4 * 1024 * 1024;

/** The endpoint's settings from configuration. */
export function codecEndpointSettings(cfg: Config): Omit<CodecEndpointSettings, 'codec'> {
  return { corsOrigins: corsOrigins(cfg) };
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

export async function codecRoutes(app: FastifyInstance, opts: CodecRoutesOptions): Promise<void> {
  const allowed = new Set(opts.corsOrigins);

  // A foreign origin gets no CORS header at all, and its preflight a 404.
  await app.register(cors, {
    origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: true,
    methods: ['POST'],
    // authorization-extras: the UI sends the operator's ID token beside the access token; it is ignored.
    allowedHeaders: ['content-type', 'x-namespace', 'authorization', 'authorization-extras'],
    maxAge: 600,
  });
  // onRequest, before the body is read: an unauthenticated caller costs no parsing and sees no payload.
  // Encoding needs the same right as decoding: it is what the CLI's signals with arguments go through.
  const authenticate = requireOperator(opts.db, opts.verifyOperator, 'decode');

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
    const op = request.operator!;
    const encrypted = payloads.filter(isCodecEncrypted).length;
    return audit(opts.db, {
      event: 'CODEC_DECODE',
      actor: operatorActor(op),
      method: 'POST /codec/decode',
      ...requesterOf(request),
      count: outcome === 'decoded' ? encrypted : 0,
      detail: {
        outcome,
        payloads: payloads.length,
        notEncrypted: payloads.length - encrypted,
        ...operatorDetail(op),
      },
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
      request.log.debug({ operator: request.operator?.username, count: result.length }, `codec ${op}`);
      return payloadsToJson(result);
    });
  }
}
