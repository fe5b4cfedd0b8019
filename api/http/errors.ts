/**
 * How the API says no. Responses never carry an error's message or stack (a parser or driver message may
 * quote the request, and a link request's path is its token); they carry a status and a generic text.
 * Link pages get HTML, API clients get problem details (problems.ts), with the invalid fields by name when a
 * route schema refused the request.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { pageContext } from './customer-page';
import { MESSAGES, type MessageKind, messagePage } from './message-pages';
import { type FieldError, sendProblem } from './problems';
import { applySecurityHeaders, newNonce } from './security-headers';

export function sendMessage(
  reply: FastifyReply,
  request: FastifyRequest,
  kind: MessageKind,
  status: number = MESSAGES[kind].status,
  /** The order's caller, when the link is known: its brand. */
  caller?: string | null,
): FastifyReply {
  const page = pageContext(request, caller);
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-language', page.locale)
    .send(messagePage(kind, request.cspNonce || newNonce(), page));
}

function isLinkPath(request: FastifyRequest): boolean {
  const path = request.raw.url ?? '';
  return path === '/d' || path.startsWith('/d/');
}

function wantsHtml(request: FastifyRequest): boolean {
  return isLinkPath(request) || (request.headers.accept ?? '').includes('text/html');
}

function kindFor(request: FastifyRequest, status: number): MessageKind {
  if (status === 429) return 'tooManyRequests';
  if (status === 404) return isLinkPath(request) ? 'notFound' : 'pageNotFound';
  if (status < 500) return 'badRequest';
  return 'serverError';
}

function respond(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  errors?: FieldError[],
): FastifyReply {
  if (wantsHtml(request)) return sendMessage(reply, request, kindFor(request, status), status);
  return sendProblem(reply, status, { errors });
}

/**
 * The fields a route schema refused: paths from the schema (a body's own, or the parameter or header's
 * name), the kind of fault by zod's issue code; never the value, nor zod's message (which may quote a key).
 */
export function validationFields(err: {
  validation?: unknown;
  validationContext?: string;
}): FieldError[] | undefined {
  if (!hasZodFastifySchemaValidationErrors(err)) return undefined;
  const seen = new Map<string, FieldError>();
  for (const issue of err.validation) {
    const path = issue.instancePath.split('/').filter(Boolean).join('.');
    const name =
      path || (err.validationContext === 'body' || !err.validationContext ? 'body' : err.validationContext);
    if (!seen.has(name)) seen.set(name, { name, reason: issue.keyword });
  }
  return [...seen.values()];
}

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  if (status >= 500) {
    // The logger's pattern filter still masks anything secret-shaped in the message or stack.
    request.log.error({ req: request, statusCode: status, err }, 'request failed');
  } else if (status === 429) {
    // A flood's thousands of refusals are counted by the limiter's metric, not logged one by one.
    request.log.debug({ req: request, statusCode: status, errorCode: err.code }, 'request rejected');
  } else {
    // `errorCode`, not `code`: the logger censors any `code` field as a possible card code.
    request.log.info({ req: request, statusCode: status, errorCode: err.code }, 'request rejected');
  }
  return respond(request, reply, status, status === 400 ? validationFields(err) : undefined);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return respond(request, reply, 404);
}

/**
 * Errors Fastify raises before routing (a malformed percent-encoding, an over-long parameter). Its default
 * answer quotes the path back, which for a link is the token, so these get the generic answer too.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // Under /d/ it is a malformed token, answered like any other invalid link; a parameter longer than any
  // id or token names nothing that exists (404, as the document says, not 414); a refusal by a rate limit
  // (api/app.ts counts these requests as unmatched ones) stays a 429.
  const status =
    err.statusCode === 429
      ? 429
      : isLinkPath(request) || err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 404
        : err.statusCode && err.statusCode >= 400 && err.statusCode < 600
          ? err.statusCode
          : 400;
  if (status === 429) request.log.debug({ req: request, errorCode: err.code }, 'bad request');
  else request.log.info({ req: request, errorCode: err.code }, 'bad request');
  // Hooks do not run on this path, so the headers are applied here.
  const nonce = newNonce();
  request.cspNonce = nonce;
  applySecurityHeaders(reply, nonce, request.server.securityHeaderOptions);
  respond(request, reply, status);
}
