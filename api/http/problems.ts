/**
 * How the JSON APIs say no: RFC 9457 problem details (`application/problem+json`). A status, its standard
 * title, at most a fixed sentence of the API's own (`detail`) and the names of the fields the client must
 * fix (`errors`, with the kind of fault from the schema's own vocabulary). Never a value from the request,
 * never an internal message: a parser or driver message may quote the request, which may hold an email
 * address or a secret.
 *
 * The type is `about:blank` (RFC 9457 section 4.2.1): the status says what happened, the title is its
 * standard phrase; the problems that need more say it in `detail`.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One invalid field: its path in the request (`body`, `policy.linkTtl`, `orderId`) and what is wrong. */
const fieldErrorSchema = z
  .object({
    name: z.string().describe('The field, as a dotted path from the schema (never a value from the request)'),
    reason: z
      .string()
      .optional()
      .describe('What is wrong, as the schema names it (invalid_type, invalid_format, too_big, …)'),
  })
  .meta({ id: 'FieldError' });

const problemSchema = z
  .object({
    type: z.string().describe('`about:blank`: the status code says what the problem is'),
    title: z.string().describe("The status code's standard phrase"),
    status: z.number().int().min(400).max(599),
    detail: z
      .string()
      .optional()
      .describe("A fixed sentence of the API's own, when the status is not enough"),
    errors: z.array(fieldErrorSchema).optional().describe('The fields to fix, when the request was invalid'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export type Problem = z.infer<typeof problemSchema>;
export type FieldError = z.infer<typeof fieldErrorSchema>;

export function problem(status: number, extra: { detail?: string; errors?: FieldError[] } = {}): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    ...(extra.detail ? { detail: extra.detail } : {}),
    ...(extra.errors && extra.errors.length > 0 ? { errors: extra.errors } : {}),
  };
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  extra: { detail?: string; errors?: FieldError[] } = {},
): FastifyReply {
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(problem(status, extra));
}

/** What each refusal means, for the document (a route lists the ones it answers). */
const MEANINGS: Record<number, string> = {
  400: 'The request is invalid: `errors` names the fields to fix',
  401: 'Not authenticated',
  403: 'Refused',
  404: 'Not found (or not yours: the two are answered alike)',
  409: 'Conflict',
  410: 'Gone',
  413: 'The body is too large',
  415: 'Only application/json is accepted',
  422: 'The request cannot be carried out as it stands',
  429: 'Too many requests: wait for Retry-After seconds',
  500: 'Internal error',
  503: 'A dependency is unavailable: the same request may be retried',
};

/**
 * Route-schema responses for the statuses a route refuses with, each a problem document; `meanings`
 * overrides the generic description where a route's refusal says more.
 */
export function problemResponses(statuses: number[], meanings: Record<number, string> = {}) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: meanings[status] ?? MEANINGS[status] ?? STATUS_CODES[status] ?? 'Error',
        content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } },
      },
    ]),
  );
}
