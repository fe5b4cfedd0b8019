/**
 * Entry point: `npm run decryptor`. The one process that decrypts cards, listening on an internal address
 * only (DECRYPTOR_HOST:DECRYPTOR_PORT, loopback in the local stack); the API reaches it at DECRYPTOR_URL.
 */
import { configFor, loadStackEnv } from '../lib/config';
import { logger } from '../lib/logger';
import { startOpsServer } from '../lib/ops-server';
import { decryptorFromConfig } from './from-config';

// Past this, a stuck connection or Vault call no longer holds the process.
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  loadStackEnv('decryptor');
  const cfg = configFor('decryptor');
  const log = logger().child({ component: 'decryptor' });
  const decryptor = await decryptorFromConfig(cfg);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'decryptor stopping');
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    decryptor.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  await decryptor.app.listen({ host: cfg.DECRYPTOR_HOST, port: cfg.DECRYPTOR_PORT });
  if (cfg.OPS_PORT)
    await startOpsServer({ host: cfg.OPS_HOST, port: cfg.OPS_PORT, checks: decryptor.readiness });
  log.info(
    { host: cfg.DECRYPTOR_HOST, port: cfg.DECRYPTOR_PORT, opsPort: cfg.OPS_PORT },
    'decryptor listening',
  );
}

main().catch((err: unknown) => {
  logger().fatal({ err }, 'decryptor could not start');
  process.exit(1);
});
