/**
 * Entry point: `tsx provider-sandbox/main.ts`. Reads only its own variables (not `config()`, which is the
 * application's), from the environment or the local stack's provider-sandbox env file.
 */
import { loadStackEnv } from '../lib/config';
import { createLogger } from '../lib/logger';
import { buildSandbox } from './server';

function fail(message: string): never {
  // The one console line in the sandbox: the logger may not be the thing anyone is watching at start-up.
  console.error(`provider-sandbox: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  loadStackEnv('provider-sandbox'); // on the local stack: its own file (the provider key and its port)
  const host = process.env.PROVIDER_SANDBOX_HOST?.trim() || '127.0.0.1';
  const portText = process.env.PROVIDER_SANDBOX_PORT?.trim() || '4010';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    fail('PROVIDER_SANDBOX_PORT must be a port number between 1 and 65535');
  }
  const apiKey = process.env.PROVIDER_API_KEY;
  if (!apiKey) fail('PROVIDER_API_KEY is required but not set');
  if (apiKey.length < 8) fail('PROVIDER_API_KEY must be at least 8 characters');

  const log = createLogger({ name: 'provider-sandbox' });
  const app = buildSandbox({ apiKey, logger: log });

  const stop = (signal: string) => {
    log.info({ signal }, 'provider sandbox stopping');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  await app.listen({ host, port });
  log.info({ host, port }, 'provider sandbox listening');
}

main().catch((err: unknown) => {
  fail(`could not start: ${err instanceof Error ? err.message : String(err)}`);
});
