/**
 * The local stack's stand-in for the customer app's token issuer (a third party in production): an ES256
 * key pair kept in one file (APP_ISSUER_KEY_FILE, written once, mode 600), its public half published as a
 * JWKS, which the API verifies app tokens against (JWT_JWKS_URL). The API never sees the private half.
 *
 *   tsx scripts/app-issuer.ts serve                  JWKS at http://127.0.0.1:$APP_ISSUER_PORT/.well-known/jwks.json
 *   npm run app-token -- --user u-1                  prints a token for user u-1 (5 minutes), as the app would get
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { repoRoot } from '../lib/config';

const KID = 'local-app-1';

async function keyPair(file: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  if (!existsSync(file)) {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(file, JSON.stringify({ ...(await exportJWK(privateKey)), kid: KID, alg: 'ES256' }), {
      mode: 0o600,
    });
  }
  const privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  const { d: _private, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk: { ...publicJwk, use: 'sig' } };
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { user: { type: 'string' }, ttl: { type: 'string', default: '5m' } },
  });
  // Its own env file (scripts/stack.sh writes it), unless the environment says otherwise.
  const envFile = process.env.STACK_ENV_FILE ?? path.join(repoRoot, '.data', 'env', 'app-issuer.env');
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  const file = process.env.APP_ISSUER_KEY_FILE;
  if (!file) throw new Error('APP_ISSUER_KEY_FILE is not set');
  const { privateJwk, publicJwk } = await keyPair(file);

  if (positionals[0] === 'serve') {
    const port = Number(process.env.APP_ISSUER_PORT ?? 4030);
    const jwks = JSON.stringify({ keys: [publicJwk] });
    createServer((request, response) => {
      if (request.method !== 'GET' || request.url !== '/.well-known/jwks.json')
        return response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=300' });
      response.end(jwks);
    }).listen(port, '127.0.0.1', () =>
      console.log(`app issuer: JWKS on http://127.0.0.1:${port}/.well-known/jwks.json`),
    );
    return;
  }
  if (positionals[0] === 'token' && values.user) {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
      .setIssuer(process.env.JWT_ISSUER ?? 'giftcards-app')
      .setAudience(process.env.JWT_AUDIENCE ?? 'giftcards-api')
      .setSubject(values.user)
      .setIssuedAt()
      .setExpirationTime(values.ttl)
      .sign(await importJWK(privateJwk, 'ES256'));
    console.log(token);
    return;
  }
  console.error('usage: app-issuer.ts serve | token --user <id> [--ttl 5m]');
  process.exit(2);
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
