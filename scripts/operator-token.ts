// bash scripts/stack.sh operator-token <user>    prints a short-lived access token for a seeded operator
//
// The operator signs in at the identity provider exactly as in a browser, scripted: an authorization-code
// request with PKCE from the public `ops-cli` client, the IdP's login form with the operator's password,
// the code exchanged for an access token for the ops audience. No grant exists for this script alone:
// the token is what any sign-in of that person gets, and the IdP issues it only after the password.
// The password comes from the local stack's identity provider state (.data/secrets/identity-provider);
// in production an operator signs in through the organisation's own provider (docs/operations.md).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_OPS_AUDIENCE, OPS_SCOPE } from '../contracts/operators';
import { loadStackEnv } from '../lib/config';

const CLIENT_ID = 'ops-cli';
const REDIRECT_URI = 'http://127.0.0.1/ops-cli/callback';

export interface SignIn {
  issuer: string;
  username: string;
  password: string;
  /** The resource (token audience); default the ops audience. */
  audience?: string;
}

/** Cookies by name, for one host: the IdP's interaction and session cookies across its redirects. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** Signs the operator in (authorization code + PKCE) and returns the access token. */
export async function signIn(opts: SignIn): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const audience = opts.audience ?? DEFAULT_OPS_AUDIENCE;
  const jar = new CookieJar();
  const go = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
    });
    jar.take(res);
    return res;
  };
  const auth = new URL('/auth', opts.issuer);
  auth.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: `openid ${OPS_SCOPE}`,
    resource: audience,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  }).toString();

  let res = await go(auth.href);
  let code: string | undefined;
  for (let hop = 0; hop < 10 && !code; hop++) {
    const location = res.headers.get('location');
    if (res.status === 200 && !location) {
      // The login form: post the operator's name and password to it.
      const action = /<form method="post" action="([^"]+)"/.exec(await res.text())?.[1];
      if (!action) throw new Error('the identity provider showed a page this sign-in does not know');
      res = await go(new URL(action, opts.issuer).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: opts.username, password: opts.password }).toString(),
      });
      if (res.status === 401)
        throw new Error(`the identity provider refused the sign-in of ${opts.username}`);
      continue;
    }
    if (!location) throw new Error(`the identity provider answered HTTP ${res.status} during the sign-in`);
    const next = new URL(location, opts.issuer);
    if (next.href.startsWith(REDIRECT_URI)) {
      if (next.searchParams.get('state') !== state)
        throw new Error('the sign-in came back with another state');
      const error = next.searchParams.get('error');
      if (error) throw new Error(`the identity provider refused: ${error}`);
      code = next.searchParams.get('code') ?? undefined;
    } else {
      res = await go(next.href);
    }
  }
  if (!code) throw new Error('the sign-in did not finish');
  const token = await fetch(new URL('/token', opts.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      client_id: CLIENT_ID,
      code_verifier: verifier,
      resource: audience,
    }).toString(),
  });
  const body = (await token.json()) as { access_token?: string; error?: string };
  if (!token.ok || !body.access_token)
    throw new Error(`the token request failed: ${body.error ?? token.status}`);
  return body.access_token;
}

/** A seeded operator's password from the local identity provider's state folder. */
export function localPassword(stateDir: string, username: string): string {
  const state = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as {
    passwords: Record<string, string>;
  };
  const password = state.passwords[username];
  if (!password) throw new Error(`no seeded operator ${username} (see identity-provider/operators.ts)`);
  return password;
}

async function main() {
  const username = process.argv[2];
  if (!username) throw new Error('usage: bash scripts/stack.sh operator-token <user>');
  loadStackEnv('cli');
  const issuer = process.env.OPERATOR_TOKEN_ISSUER;
  const stateDir = process.env.IDP_STATE_DIR;
  if (!issuer || !stateDir) throw new Error('OPERATOR_TOKEN_ISSUER and IDP_STATE_DIR are required');
  process.stdout.write(
    `${await signIn({
      issuer,
      username,
      password: localPassword(stateDir, username),
      audience: process.env.OPERATOR_TOKEN_AUDIENCE,
    })}\n`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`operator-token: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
