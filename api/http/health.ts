import type { FastifyInstance } from 'fastify';
import type { Db } from '../../lib/db';

/** Liveness for load balancers and the stack script: the process answers and the database does too. */
export async function healthRoutes(app: FastifyInstance, opts: { db: Db }): Promise<void> {
  app.get('/healthz', async (request, reply) => {
    try {
      await opts.db.query('SELECT 1');
      return { ok: true };
    } catch (err) {
      request.log.error({ err }, 'health check: database unreachable');
      return reply.code(503).send({ ok: false });
    }
  });
}
