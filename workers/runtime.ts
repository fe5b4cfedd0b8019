/**
 * What every worker process sets up around its workers: the Temporal Runtime (its logs through our
 * redacting logger, its metrics on TEMPORAL_METRICS_PORT) and the ops port (OPS_PORT: /metrics, /readyz).
 */
import { type NativeConnection, Runtime } from '@temporalio/worker';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import { logger, TemporalPinoLogger } from '../lib/logger';
import { dependencyChecks, startOpsServer } from '../lib/ops-server';
import type { VaultSession } from '../lib/vault';
import type { WorkerGroup } from './create';

export function installRuntime(cfg: Config, component: string): void {
  Runtime.install({
    logger: new TemporalPinoLogger(logger().child({ component: 'temporal-sdk' })),
    ...(cfg.TEMPORAL_METRICS_PORT
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: `${cfg.OPS_HOST}:${cfg.TEMPORAL_METRICS_PORT}`,
                useSecondsForDurations: true,
              },
              globalTags: { component },
            },
          },
        }
      : {}),
  });
}

/** The ops port of a worker process, when OPS_PORT is set: ready while its workers poll and its dependencies answer. */
export async function serveWorkerOps(
  cfg: Config,
  parts: { db: Db; vault: VaultSession; connection: NativeConnection; workers: WorkerGroup },
): Promise<{ close(): Promise<void> }> {
  if (!cfg.OPS_PORT) return { close: async () => {} };
  const server = await startOpsServer({
    host: cfg.OPS_HOST,
    port: cfg.OPS_PORT,
    checks: dependencyChecks(parts.db, parts.vault, async () => {
      if (!parts.workers.running) throw new Error('not polling');
      await parts.connection.healthService.check({});
    }),
  });
  return { close: () => server.close() };
}
