/**
 * Every process's ops port (OPS_PORT): `/metrics` for Prometheus, `/readyz` for a load balancer or a
 * supervisor, `/livez` for "the event loop answers". Apart from the public API's port, so the metrics never
 * face customers; bound to OPS_HOST (loopback unless a deployment says otherwise).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Db } from './db';
import { registry } from './metrics';
import type { VaultSession } from './vault';

/** A dependency the process cannot work without; resolves when it answers, throws when it does not. */
export type ReadinessCheck = () => Promise<unknown>;

const CHECK_TIMEOUT_MS = 2_000;

/** What every process needs to be ready: its database, its own Vault identity, and Temporal as it uses it. */
export function dependencyChecks(
  db: Pick<Db, 'query'>,
  vault: VaultSession,
  temporal: ReadinessCheck,
): Record<string, ReadinessCheck> {
  return { postgres: () => db.query('SELECT 1'), vault: () => vault.vault.tokenLookupSelf(), temporal };
}

export async function startOpsServer(opts: {
  host: string;
  port: number;
  checks: Record<string, ReadinessCheck>;
}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
  // The pid: what an operator (or a test) signals to stop this process, whatever wraps it (npx, tsx).
  app.get('/livez', async () => ({ status: 'live', pid: process.pid }));
  app.get('/readyz', async (_request, reply) => {
    const results = await checkAll(opts.checks);
    const ready = Object.values(results).every((r) => r === 'ok');
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', checks: results };
  });
  await app.listen({ host: opts.host, port: opts.port });
  return app;
}

/**
 * Runs every check at once, each bounded: a dependency that hangs reads as down, not as a hung probe. The
 * answer names the dependency and says "down", never the error (it may quote an address or a credential).
 */
async function checkAll(checks: Record<string, ReadinessCheck>): Promise<Record<string, 'ok' | 'down'>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
      });
      try {
        await Promise.race([check(), timeout]);
        return [name, 'ok'] as const;
      } catch {
        return [name, 'down'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}
