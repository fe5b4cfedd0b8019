/**
 * Operators' access tokens for the tests: a real sign-in of a seeded operator at the stack's identity
 * provider (scripts/operator-token.ts), and a second identity provider of the test's own (another
 * issuer, its own keys) for the attacks that need one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_OPS_AUDIENCE } from '../../contracts/operators';
import { createIdentityProvider, type IdentityProvider } from '../../identity-provider/provider';
import { ensureState, type IdpState, rotateSigningKey } from '../../identity-provider/state';
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
  /** A new signing key first (the old one still published), the provider restarted with it on its port. */
  rotate(): Promise<void>;
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
  const start = async (s: IdpState) => {
    const started = createIdentityProvider({
      issuer,
      state: s,
      audience: opts.audience ?? DEFAULT_OPS_AUDIENCE,
      accessTokenTtlS: opts.accessTokenTtlS,
    });
    await started.listen(port);
    return started;
  };
  let idp = await start(state);
  return {
    get idp() {
      return idp;
    },
    issuer,
    stateDir,
    token: (username, audience) =>
      signIn({ issuer, username, password: state.passwords[username]!, audience: audience ?? opts.audience }),
    async rotate() {
      await rotateSigningKey(stateDir);
      await idp.close();
      // Let the clients' keep-alive pools see their sockets closed before the next request.
      await new Promise((r) => setTimeout(r, 200));
      idp = await start(await ensureState(stateDir));
    },
    async stop() {
      await idp.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * A request to the stack's internal listener (codec endpoint, ops API), which serves https with the local
 * CA's certificate on the profiles that give it one (the Temporal UI passes tokens only to https): fetch
 * cannot take a CA of its own, so node's http(s) with the CA named in the test env.
 */
export function internalRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const caFile = process.env.TEMPORAL_TLS_CA_FILE;
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: init.method ?? 'GET',
        headers: init.headers,
        ...(target.protocol === 'https:' && caFile ? { ca: readFileSync(caFile) } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
