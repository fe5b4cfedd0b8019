/**
 * Liveness for load balancers and the stack script: the process answers and the database does too. Public
 * and unauthenticated, so it costs no more than it must: the database is probed at most once per
 * PROBE_INTERVAL_MS whatever the number of requests (a request answers from the last probe while it is
 * fresh, and one probe at a time refreshes a stale one, the requests meanwhile waiting for it), a probe
 * that gets no answer within PROBE_TIMEOUT_MS counts as a failure, and each client has a per-process
 * budget of requests (http/rate-limits.ts).
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db } from '../../lib/db';
import { NO_SECURITY, TAGS } from './openapi';
import { problemResponses } from './problems';
import { clientIp, createLimiters } from './rate-limits';

/** How long a probe's answer stands: a failing database shows as 503 this long after it fails, at most. */
const PROBE_INTERVAL_MS = 2_000;
/** A probe still unanswered after this is a failure (a database that accepts and never answers). */
const PROBE_TIMEOUT_MS = 2_000;
/** Health checks per client and minute, counted in each process: a load balancer's few a second fit. */
export const HEALTH_PER_MINUTE = 120;

export interface HealthOptions {
  db: Pick<Db, 'query'>;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  perClientPerMinute?: number;
}

/**
 * `check`'s last verdict while it is younger than `intervalMs` (counted from the probe's start, so probes
 * start at most once per interval); then one new probe, which every caller meanwhile awaits. A probe whose
 * check hangs fails after `timeoutMs`, and the next one waits on the same check rather than starting another:
 * never more than one check in flight.
 */
function cachedProbe(
  check: () => Promise<unknown>,
  opts: { intervalMs: number; timeoutMs: number; log?: FastifyBaseLogger },
): () => Promise<boolean> {
  let last: { ok: boolean; at: number } | undefined;
  let probing: Promise<boolean> | undefined;
  let checking: Promise<unknown> | undefined;

  const probe = async (): Promise<boolean> => {
    const at = performance.now();
    checking ??= check().finally(() => {
      checking = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    let ok: boolean;
    try {
      await Promise.race([
        checking,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('health probe timed out')), opts.timeoutMs);
        }),
      ]);
      ok = true;
    } catch (err) {
      opts.log?.error({ err }, 'health check: database unreachable');
      ok = false;
    } finally {
      clearTimeout(timer);
    }
    last = { ok, at };
    return ok;
  };

  return () => {
    if (last && performance.now() - last.at < opts.intervalMs) return Promise.resolve(last.ok);
    probing ??= probe().finally(() => {
      probing = undefined;
    });
    return probing;
  };
}

export async function healthRoutes(app: FastifyInstance, opts: HealthOptions): Promise<void> {
  const healthy = cachedProbe(() => opts.db.query('SELECT 1'), {
    intervalMs: opts.probeIntervalMs ?? PROBE_INTERVAL_MS,
    timeoutMs: opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS,
    log: app.log,
  });
  const [byIp] = await createLimiters(app, [
    {
      name: 'health:ip',
      max: opts.perClientPerMinute ?? HEALTH_PER_MINUTE,
      key: clientIp,
      perProcess: true,
    },
  ]);

  const healthSchema = {
    tags: [TAGS.health],
    security: NO_SECURITY,
    operationId: 'health',
    summary: 'The process answers and so does its database',
    response: {
      200: z.object({ ok: z.literal(true) }).describe('Healthy'),
      503: z.object({ ok: z.literal(false) }).describe('The database does not answer'),
      ...problemResponses([429]),
    },
  };
  app.get('/healthz', { onRequest: byIp!, schema: healthSchema }, async (_request, reply) => {
    if (await healthy()) return { ok: true };
    return reply.code(503).send({ ok: false });
  });
}
