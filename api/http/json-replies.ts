/**
 * Refusals of the JSON APIs (in-app, intake): a status and its standard text, plus at most the names of
 * fields the client must fix, or a fixed sentence of the API's own saying why (`detail`). Never a value
 * from the request, never an internal message.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';

export function sendError(
  reply: FastifyReply,
  status: number,
  extra: { invalid?: string[]; detail?: string } = {},
): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ error: STATUS_CODES[status] ?? 'Error', ...extra });
}
