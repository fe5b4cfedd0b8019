/**
 * Entry point: `tsx identity-provider/main.ts` (started by `scripts/stack.sh up`), or
 * `tsx identity-provider/main.ts rotate-key` to put a new signing key first (restart it afterwards).
 * Reads only its own variables, from the environment or the local stack's identity-provider env file:
 *
 *   IDP_STATE_DIR          where its passwords and keys are generated once (required; .data/secrets/…)
 *   IDP_PORT, IDP_HOST     default 4020 on 127.0.0.1
 *   IDP_ISSUER             default http://<host>:<port>
 *   OPERATOR_TOKEN_AUDIENCE  the resource its access tokens are for (default urn:giftcards:ops)
 *   IDP_UI_CLIENT_SECRET, IDP_UI_REDIRECT_URIS  the Temporal UI server's client (comma-separated URIs)
 *   IDP_ACCESS_TOKEN_TTL_S default 600
 *
 * The local stack's and the tests' identity provider only: production signs operators in at the
 * organisation's own (docs/deploying.md), so it refuses to run in production mode.
 */
import { DEFAULT_OPS_AUDIENCE } from '../contracts/operators';
import { loadStackEnv } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createIdentityProvider } from './provider';
import { ensureState, rotateSigningKey } from './state';

// The project's logger (it redacts): this process's lines go where every component's go.
const log = createLogger({ level: 'info', name: 'identity-provider' });

function fail(message: string): never {
  log.error(message);
  process.exit(1);
}

async function main(): Promise<void> {
  loadStackEnv('identity-provider');
  const mode = process.env.NODE_ENV;
  if (mode !== 'development' && mode !== 'test') {
    fail(
      "the local stack's identity provider runs only with NODE_ENV=development or test; production uses the organisation's identity provider (docs/deploying.md)",
    );
  }
  const dir = process.env.IDP_STATE_DIR;
  if (!dir) fail('IDP_STATE_DIR is required but not set');
  if (process.argv[2] === 'rotate-key') {
    const key = await rotateSigningKey(dir);
    log.info({ kid: key.kid }, 'new signing key (restart the identity provider to sign with it)');
    return;
  }
  const host = process.env.IDP_HOST?.trim() || '127.0.0.1';
  const portText = process.env.IDP_PORT?.trim() || '4020';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) fail('IDP_PORT must be a port number');
  const ttlText = process.env.IDP_ACCESS_TOKEN_TTL_S?.trim() || '600';
  if (!/^\d+$/.test(ttlText) || Number(ttlText) < 1)
    fail('IDP_ACCESS_TOKEN_TTL_S must be a number of seconds');
  const secret = process.env.IDP_UI_CLIENT_SECRET;
  const redirectUris = (process.env.IDP_UI_REDIRECT_URIS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (secret !== undefined && secret.length < 32) fail('IDP_UI_CLIENT_SECRET must be at least 32 characters');

  const idp = createIdentityProvider({
    issuer: process.env.IDP_ISSUER?.trim() || `http://${host}:${port}`,
    state: await ensureState(dir),
    audience: process.env.OPERATOR_TOKEN_AUDIENCE?.trim() || DEFAULT_OPS_AUDIENCE,
    uiClient: secret && redirectUris.length ? { secret, redirectUris } : undefined,
    accessTokenTtlS: Number(ttlText),
  });
  const stop = () => idp.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await idp.listen(port, host);
  log.info({ host, port, issuer: idp.provider.issuer }, 'identity provider listening');
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
