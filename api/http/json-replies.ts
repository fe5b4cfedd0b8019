/**
 * Refusals of the JSON APIs (in-app, intake) as problem details (problems.ts): a status and its standard
 * title, plus at most the names of fields the client must fix (`invalid`), or a fixed sentence of the
 * API's own saying why (`detail`). Never a value from the request, never an internal message.
 */
import type { FastifyReply } from 'fastify';
import { type FieldError, sendProblem } from './problems';

export function sendError(
  reply: FastifyReply,
  status: number,
  extra: { invalid?: Array<string | FieldError>; detail?: string } = {},
): FastifyReply {
  const errors = extra.invalid?.map((field) => (typeof field === 'string' ? { name: field } : field));
  return sendProblem(reply, status, { detail: extra.detail, errors });
}
