/**
 * Refusals of the JSON APIs (in-app, intake): a status and its standard text, plus at most the names of
 * fields the client must fix. Never a value from the request, never an internal message.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';

export function sendError(
  reply: FastifyReply,
  status: number,
  extra: { invalid?: string[] } = {},
): FastifyReply {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ error: STATUS_CODES[status] ?? 'Error', ...extra });
}
