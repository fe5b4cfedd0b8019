/**
 * The API's internal listener (INTERNAL_HOST:INTERNAL_PORT): the codec endpoint the Temporal UI and CLI
 * decode through, and the ops API `npm run ops` acts through. A second Fastify instance in the API
 * process, bound to an operators' address, so nothing of it is ever served on the customers' port, and
 * every route there takes an operator's access token from the identity provider (api/operators/tokens.ts).
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../lib/db';
import { logger as rootLogger } from '../lib/logger';
import { type CodecEndpointSettings, codecRoutes } from './codec-endpoint/routes';
import { sendError } from './http/json-replies';
import { SafeLogController, serializeRequest } from './http/request-log';
import {
  type OperatorTokenSettings,
  type OperatorTokenVerifier,
  operatorTokenVerifier,
} from './operators/tokens';
import type { OpsDeps } from './ops/actions';
import { opsRoutes } from './ops/routes';

export interface InternalAppDeps {
  db: Db;
  logger?: Logger;
  /** Whose tokens are accepted: the identity provider's settings, or a verifier built from them. */
  operators: OperatorTokenSettings | OperatorTokenVerifier;
  /** The codec endpoint under /codec; not served without it. */
  codec?: CodecEndpointSettings;
  /** The ops API under /ops; not served without it. */
  ops?: Omit<OpsDeps, 'db'>;
  /**
   * Serve https (PEM key and certificate). The Temporal UI passes the operator's access token to an https
   * codec endpoint only: over plain http it does not call the endpoint at all.
   */
  https?: { key: string | Buffer; cert: string | Buffer };
}

// Ops requests are small JSON documents; the codec endpoint sets its own, larger limit.
const BODY_LIMIT = 16 * 1024;

export async function buildInternalApp(deps: InternalAppDeps): Promise<FastifyInstance> {
  const verifyOperator =
    typeof deps.operators === 'function' ? deps.operators : operatorTokenVerifier(deps.operators);
  const options = {
    loggerInstance: (deps.logger ?? rootLogger()).child(
      { component: 'api-internal' },
      { serializers: { req: serializeRequest } },
    ) as FastifyBaseLogger,
    logController: new SafeLogController(),
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 128 },
  };
  // The https server's instance has the same routes and hooks; only its Node server type differs.
  const app = (deps.https
    ? Fastify({ ...options, https: deps.https })
    : Fastify(options)) as unknown as FastifyInstance;
  // A status and a generic text, never an error's message (a parser may quote the body back).
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'internal request failed');
    else request.log.info({ statusCode: status, errorCode: err.code }, 'internal request rejected');
    return sendError(reply, status);
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
  });
  if (deps.codec)
    await app.register(codecRoutes, { prefix: '/codec', db: deps.db, verifyOperator, ...deps.codec });
  if (deps.ops) await app.register(opsRoutes, { prefix: '/ops', db: deps.db, verifyOperator, ...deps.ops });
  return app;
}
