import type { FastifyRequest } from 'fastify';

/** Who asked, for the audit trail: the client's address (as trustProxy resolves it) and user agent. */
export interface Requester {
  ip: string;
  userAgent?: string;
}

export function requesterOf(request: FastifyRequest): Requester {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : undefined };
}
