/**
 * The local stack's identity provider (DESIGN 3.6): oidc-provider, a certified OpenID Provider, with the
 * seeded operators of operators.ts. Two clients, both the business's own (so consent is implied and never
 * asked): the Temporal UI server (confidential, authorization code) and the ops CLI (public, authorization
 * code with PKCE, as `stack.sh operator-token` and any native app signs in). Access tokens are JWTs for one
 * resource, the ops audience (the internal codec endpoint and ops API), signed with the published keys and
 * carrying the operator's role and name; they live minutes, never hours.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors, type InteractionDetails } from 'oidc-provider';
import { OPS_SCOPE, ROLE_CLAIM } from '../contracts/operators';
import { loginPage } from './login-page';
import { seededOperator } from './operators';
import type { IdpState } from './state';

const UI_CLIENT_ID = 'temporal-ui';
const CLI_CLIENT_ID = 'ops-cli';
/** The CLI's redirect: never served; the scripted login reads the code from the redirect's Location. */
const CLI_REDIRECT_URI = 'http://127.0.0.1/ops-cli/callback';

export interface IdentityProviderOptions {
  /** The issuer, exactly as tokens carry it (http://127.0.0.1:4020 on the local stack). */
  issuer: string;
  state: IdpState;
  /** The resource the access tokens are for (their `aud`). */
  audience: string;
  /** The Temporal UI server's client secret and callback URLs (its `/auth/sso/callback`). */
  uiClient?: { secret: string; redirectUris: string[] };
  /** Access token lifetime in seconds (default 600). */
  accessTokenTtlS?: number;
}

export interface IdentityProvider {
  provider: Provider;
  server: http.Server;
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const passwordMatches = (presented: string, expected: string | undefined) =>
  expected !== undefined && timingSafeEqual(sha256(presented), sha256(expected));

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 8192) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    // No form-action: Chromium applies it to the redirects after the post too, and the sign-in ends in a
    // redirect to the client's own origin.
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cache-control': 'no-store',
  });
  res.end(body);
}

export function createIdentityProvider(opts: IdentityProviderOptions): IdentityProvider {
  const ttl = opts.accessTokenTtlS ?? 600;
  const claimsOf = (sub: string) => {
    const op = seededOperator(sub);
    return op ? { sub, name: op.name, preferred_username: op.username, [ROLE_CLAIM]: op.role } : undefined;
  };
  const clients: Record<string, unknown>[] = [
    {
      client_id: CLI_CLIENT_ID,
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: [CLI_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ];
  if (opts.uiClient) {
    clients.push({
      client_id: UI_CLIENT_ID,
      client_secret: opts.uiClient.secret,
      redirect_uris: opts.uiClient.redirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
  }

  const provider = new Provider(opts.issuer, {
    clients,
    // The signing keys are P-256 (state.ts): ID tokens are signed with them too.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    jwks: { keys: opts.state.signingKeys },
    cookies: { keys: opts.state.cookieKeys },
    findAccount: async (_ctx: unknown, sub: string) => {
      const claims = claimsOf(sub);
      return claims ? { accountId: sub, claims: async () => claims } : undefined;
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', ROLE_CLAIM],
    },
    scopes: ['openid', 'profile', 'offline_access'],
    // The UI server reads the name from the ID token, not from userinfo.
    conformIdTokenClaims: false,
    // Public clients (the CLI) prove the code is theirs; the UI server is confidential and sends none.
    pkce: {
      required: (_ctx: unknown, client: { tokenEndpointAuthMethod: string }) =>
        client.tokenEndpointAuthMethod === 'none',
    },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => opts.audience,
        // The UI server's token request names no resource: the one granted at login is the one.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (resource !== opts.audience) throw new errors.InvalidTarget();
          return {
            scope: OPS_SCOPE,
            audience: opts.audience,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    // The role and the person's name in the access token: the codec endpoint and ops API act on them.
    extraTokenClaims: async (_ctx: unknown, token: { kind: string; accountId?: string }) => {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const claims = claimsOf(token.accountId);
      return claims
        ? {
            name: claims.name,
            preferred_username: claims.preferred_username,
            [ROLE_CLAIM]: claims[ROLE_CLAIM],
          }
        : undefined;
    },
    ttl: {
      AccessToken: ttl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
      RefreshToken: 8 * 3600,
    },
    interactions: {
      url: async (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
  });

  const callback = provider.callback();

  /** The operators' clients are the business's own: what the login asked for is granted without a consent page. */
  async function grantConsent(req: IncomingMessage, res: ServerResponse, details: InteractionDetails) {
    const accountId = details.session?.accountId;
    if (!accountId) throw new Error('consent without a login');
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    const d = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(d.missingResourceScopes ?? {}))
      grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  async function interaction(
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
    step: string | undefined,
  ) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return html(res, 400, 'This sign-in has expired. Start again.');
    const client = String(details.params.client_id);
    if (details.prompt.name === 'consent') return grantConsent(req, res, details);
    if (details.prompt.name !== 'login') return html(res, 400, 'Unsupported sign-in step.');
    if (req.method === 'GET' && !step) return html(res, 200, loginPage({ uid, client }));
    if (req.method === 'POST' && step === '/login') {
      const form = await readForm(req);
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      const expected = opts.state.passwords[username];
      if (!seededOperator(username) || !passwordMatches(password, expected)) {
        return html(res, 401, loginPage({ uid, client, username, error: 'Wrong user name or password.' }));
      }
      return provider.interactionFinished(
        req,
        res,
        { login: { accountId: username } },
        { mergeWithLastSubmission: false },
      );
    }
    return html(res, 405, 'Method not allowed.');
  }

  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', opts.issuer);
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(pathname);
    if (!m) return callback(req, res);
    interaction(req, res, m[1]!, m[2]).catch((err: unknown) => {
      // An expired or unknown interaction (its cookie gone): the operator starts the sign-in again.
      if (!res.headersSent) html(res, 400, 'This sign-in has expired or is unknown. Start again.');
      else res.end();
      if (!(err instanceof Error && /interaction session/i.test(err.message))) console.error(err);
    });
  });

  return {
    provider,
    server,
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
