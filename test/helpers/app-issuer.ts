/**
 * A stand-in for the customer app's token issuer: an ES256 key pair of its own, its public half published
 * as a JWKS on an ephemeral loopback port (as the app publishes its keys), and tokens signed with the
 * private half. The API under test is pointed at the JWKS URL and holds no key that could sign.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import type { JwtSettings } from '../../api/in-app/bearer-auth';
import { clientNonce } from '../../domain/decryptor-client';

export interface AppIssuer {
  settings: JwtSettings;
  /** A token for `userId` (none: no subject), signed with the issuer's key unless `key` is given. */
  sign(
    userId: string | undefined,
    claims?: {
      iss?: string;
      aud?: string;
      exp?: number | string;
      iat?: number;
      alg?: string;
      key?: CryptoKey | Uint8Array;
      kid?: string;
    },
  ): Promise<string>;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  close(): Promise<void>;
}

export async function startAppIssuer(
  opts: { issuer?: string; audience?: string; maxAgeMs?: number } = {},
): Promise<AppIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = 'app-test-1';
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
  let fetches = 0;
  const server = createServer((request, response) => {
    if (request.url !== '/.well-known/jwks.json') return response.writeHead(404).end();
    fetches++;
    response.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const settings: JwtSettings = {
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    issuer: opts.issuer ?? 'giftcards-app-test',
    audience: opts.audience ?? 'giftcards-api-test',
    maxAgeMs: opts.maxAgeMs ?? 15 * 60_000,
  };
  return {
    settings,
    async sign(userId, claims = {}) {
      let jwt = new SignJWT({} as JWTPayload)
        .setProtectedHeader({ alg: claims.alg ?? 'ES256', typ: 'JWT', kid: claims.kid ?? kid })
        .setIssuer(claims.iss ?? settings.issuer)
        .setAudience(claims.aud ?? settings.audience)
        .setIssuedAt(claims.iat)
        .setExpirationTime(claims.exp ?? '5m');
      if (userId !== undefined) jwt = jwt.setSubject(userId);
      return jwt.sign(claims.key ?? privateKey);
    },
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The app's whole reveal, as the device does it: a fresh client secret, a reveal key bound to its nonce,
 * then the key and the secret redeemed. Answers the redemption (the key's issuance must succeed).
 */
export async function revealInApp(
  baseUrl: string,
  orderId: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const clientSecret = randomBytes(32).toString('hex');
  const timestamp = Math.floor(Date.now() / 1000);
  const post = (path: string, body: object) =>
    fetch(`${baseUrl}/api/orders/${encodeURIComponent(orderId)}/${path}`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const issued = await post('reveal-keys', {
    nonce: clientNonce(clientSecret, timestamp).toString('hex'),
    timestamp,
  });
  if (issued.status !== 201) throw new Error(`reveal key refused: HTTP ${issued.status}`);
  const { revealKey } = (await issued.json()) as { revealKey: string };
  return post('cards/reveal', { revealKey, clientSecret, timestamp });
}
