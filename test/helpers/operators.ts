/**
 * Operators' access tokens for the tests: a real sign-in of a seeded operator at the stack's identity
 * provider (scripts/operator-token.ts), and a second identity provider of the test's own (another
 * issuer, its own keys) for the attacks that need one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_OPS_AUDIENCE } from '../../contracts/operators';
import { createIdentityProvider, type IdentityProvider } from '../../identity-provider/provider';
import { ensureState } from '../../identity-provider/state';
import { localPassword, signIn } from '../../scripts/operator-token';

export function stackIdp(): { issuer: string; stateDir: string } {
  const issuer = process.env.OPERATOR_TOKEN_ISSUER;
  const stateDir = process.env.IDP_STATE_DIR;
  if (!issuer || !stateDir)
    throw new Error(
      'OPERATOR_TOKEN_ISSUER and IDP_STATE_DIR must be in the test env file (stack.sh up writes them)',
    );
  return { issuer, stateDir };
}

/** A fresh access token of a seeded operator (vera viewer, sam/sofia support, ada/alan admin). */
export function operatorToken(username: string): Promise<string> {
  const { issuer, stateDir } = stackIdp();
  return signIn({ issuer, username, password: localPassword(stateDir, username) });
}

export interface OwnIdp {
  idp: IdentityProvider;
  issuer: string;
  stateDir: string;
  token(username: string, audience?: string): Promise<string>;
  stop(): Promise<void>;
}

/** An identity provider of the test's own: another issuer, its own keys, the same seeded operators. */
export async function startOwnIdp(
  opts: { audience?: string; accessTokenTtlS?: number } = {},
): Promise<OwnIdp> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'own-idp-'));
  const state = await ensureState(stateDir);
  // The port is in the issuer: listen first on an ephemeral port, then build the provider for it.
  const probe = createIdentityProvider({ issuer: 'http://127.0.0.1', state, audience: 'x' });
  const port = await probe.listen(0);
  await probe.close();
  const issuer = `http://127.0.0.1:${port}`;
  const idp = createIdentityProvider({
    issuer,
    state,
    audience: opts.audience ?? DEFAULT_OPS_AUDIENCE,
    accessTokenTtlS: opts.accessTokenTtlS,
  });
  await idp.listen(port);
  return {
    idp,
    issuer,
    stateDir,
    token: (username, audience) =>
      signIn({ issuer, username, password: state.passwords[username]!, audience: audience ?? opts.audience }),
    async stop() {
      await idp.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
