/**
 * Request logging that never writes a URL: a link's URL is its delivery token. Matched requests are named
 * by their route pattern (`/d/:token/reveal`), unmatched ones by a scrubbed path with anything under `/d/`
 * removed, because a percent-encoded or oddly shaped token would slip past the logger's `/d/<token>`
 * pattern; such a path is cut to PATH_MAX before it is scrubbed, so a 12 KB path costs what a short one
 * does. The `req` serializer replaces Fastify's (which logs `url`), so a plugin that logs `{ req }` gets
 * the same treatment.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LogController } from 'fastify';
import { scrub } from '../../lib/logger';

/** Of an unmatched path, this much is logged (and scrubbed). */
const PATH_MAX = 200;

function safePath(rawUrl: string | undefined): string {
  const url = rawUrl ?? '';
  const query = url.indexOf('?');
  // Cut before anything reads it: the query is never logged, and no more of the path than PATH_MAX (plus
  // the short overlap scrub reads past its cut) is ever scanned.
  const path = url.slice(0, Math.min(query < 0 ? url.length : query, PATH_MAX + 1024));
  if (path === '/d' || path.startsWith('/d/')) return '/d/[REDACTED]';
  return scrub(path, PATH_MAX);
}

export function safeRoute(request: FastifyRequest): string {
  return request.routeOptions?.url || safePath(request.raw.url);
}

function isFastifyRequest(req: FastifyRequest | IncomingMessage): req is FastifyRequest {
  return 'raw' in req;
}

export function serializeRequest(req: FastifyRequest | IncomingMessage) {
  if (isFastifyRequest(req)) return { method: req.method, route: safeRoute(req), remoteAddress: req.ip };
  return { method: req.method, route: safePath(req.url), remoteAddress: req.socket?.remoteAddress };
}

export class SafeLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const fields = {
      req: request,
      res: { statusCode: reply.statusCode },
      responseTime: Math.round(reply.elapsedTime),
    };
    if (error) {
      reply.log.error({ ...fields, err: { type: error.name } }, 'request errored');
    } else if (reply.statusCode === 429) {
      // A flood's refusals are counted (giftcards_rate_limited_requests_total, by bucket), not written
      // line by line: at thousands a second the log would be the flood's amplifier.
      reply.log.debug(fields, 'request completed');
    } else {
      reply.log.info(fields, 'request completed');
    }
  }

  // The API's error handler logs errors itself; this only runs if it is ever bypassed.
  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.error({ req: request, err: { type: error?.name } }, 'request failed');
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.info({ req: request }, 'route not found');
  }

  override writeHeadError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.warn({ req: request, err: { type: error?.name } }, 'could not write response headers');
  }

  override serializerError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.error({ req: request, err: { type: error?.name } }, 'response serialization failed');
  }

  override streamError(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
    if (error.code === 'ERR_STREAM_PREMATURE_CLOSE') {
      reply.log.info({ req: request }, 'stream closed prematurely');
    } else {
      reply.log.warn({ req: request, err: { type: error.name } }, 'response stream failed');
    }
  }
}
