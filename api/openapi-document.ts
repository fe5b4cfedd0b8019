/**
 * The OpenAPI document as the API generates it from its routes (http/openapi.ts), with every public surface
 * on: `npm run contracts:openapi` writes it to contracts/openapi.json, which test/unit/openapi.test.ts
 * compares with this on every run. Nothing here connects: the routes are built and described, never served.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Decryptor } from '../domain/decryptor-client';
import type { Db } from '../lib/db';
import { createLogger } from '../lib/logger';
import { buildApp } from './app';

export const OPENAPI_PATH = resolve(__dirname, '../contracts/openapi.json');

const unused = async () => {
  throw new Error('the document is generated without serving a request');
};

/** The API with every public surface, built but not listening; nothing it could reach is real. */
export async function buildDocumentApp(): Promise<FastifyInstance> {
  const app = await buildApp({
    db: { query: unused, connect: unused } as unknown as Db,
    decryptor: {} as Decryptor,
    // Nothing it could serve is real: what it would log is noise.
    logger: createLogger({ level: 'silent', name: 'openapi-document' }),
    publicBaseUrl: 'http://localhost:3000',
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 60,
    limitScope: 'openapi',
    inApp: {
      jwt: { jwksUrl: 'http://localhost/jwks', issuer: 'issuer', audience: 'audience', maxAgeMs: 60_000 },
      revealKeyTtlMs: 60_000,
      rateLimitPerMinute: 60,
    },
    intake: {
      clients: `caller:${'x'.repeat(32)}`,
      windowMs: 300_000,
      rateLimitPerMinute: 60,
      policyDefaults: {
        deliverPartial: false,
        purgeOnRetrieval: false,
        linkTtl: '24h',
        retention: '30d',
        deadline: '24h',
        pollInitialInterval: '1s',
        pollMaxInterval: '1m',
        webhookMaxAge: '1d',
      },
      requestKey: 'x'.repeat(32),
    },
    startOrder: unused,
    resendLink: unused,
  });
  await app.ready();
  return app;
}

/** The document as the routes describe themselves, as committed. */
export async function openApiDocument(): Promise<string> {
  const app = await buildDocumentApp();
  try {
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  const log = createLogger({ level: 'info', name: 'openapi-document' });
  openApiDocument().then(
    (text) => {
      writeFileSync(OPENAPI_PATH, text);
      log.info({ path: OPENAPI_PATH }, 'wrote the OpenAPI document');
    },
    (err: unknown) => {
      log.error({ err }, 'the OpenAPI document could not be generated');
      process.exit(1);
    },
  );
}
