/**
 * The OpenAPI document is generated from the routes' own schemas (api/http/openapi.ts); the committed copy
 * (contracts/openapi.json) and the typed client's types (contracts/openapi-types.ts) must be what the code
 * generates today, or an integrator reads a stale contract. `npm run contracts:openapi` regenerates both.
 * Served at /openapi.json and browsable at /docs, whose page gets a CSP of its own while every other
 * answer keeps the strict one.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCS_CSP } from '../../api/http/openapi';
import { buildDocumentApp, OPENAPI_PATH, openApiDocument } from '../../api/openapi-document';

interface Operation {
  security?: unknown;
  responses: Record<string, { content?: Record<string, unknown> }>;
}

const TYPES_PATH = resolve(__dirname, '../../contracts/openapi-types.ts');

describe('contracts/openapi.json', () => {
  it('is what the routes generate (npm run contracts:openapi)', async () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(await openApiDocument());
  });

  it("the typed client's types are generated from it (npm run contracts:openapi)", async () => {
    const generated = astToString(
      await openapiTS(new URL(`file://${OPENAPI_PATH}`), { defaultNonNullable: false }),
    );
    // As the script runs it: a body field with a default may be left out. The CLI heads the file with a comment saying it is generated; the rest is the library's output.
    expect(readFileSync(TYPES_PATH, 'utf8').replace(/^\/\*\*[\s\S]*?\*\/\n\n/, '')).toBe(generated);
  });

  it('describes every public route, its authentication and its refusals as problem details', () => {
    const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(
      ([path, ops]) =>
        Object.entries(ops).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, op })),
    );
    expect(operations.map((o) => o.route).sort()).toEqual([
      'GET /api/orders/{orderId}/cards',
      'GET /d/{token}',
      'GET /healthz',
      'GET /v1/fulfillments/{orderId}',
      'POST /api/orders/{orderId}/cards/reveal',
      'POST /api/orders/{orderId}/reveal-keys',
      'POST /d/{token}/download',
      'POST /d/{token}/reveal',
      'POST /v1/fulfillments',
      'POST /v1/fulfillments/{orderId}/recipient',
    ]);
    for (const { route, op } of operations) {
      expect(op.security, route).toBeDefined();
      if (route.includes('/v1/'))
        expect(op.security, route).toEqual([{ intakeClient: [], intakeTimestamp: [], intakeSignature: [] }]);
      if (route.includes('/api/')) expect(op.security, route).toEqual([{ appToken: [] }]);
      for (const [status, response] of Object.entries(op.responses)) {
        // A load balancer's answer, not an error: the health check says so in its own body.
        if (Number(status) < 400 || (route === 'GET /healthz' && status === '503')) continue;
        const type = route.includes(' /d/') ? 'text/html' : 'application/problem+json';
        expect(Object.keys(response.content ?? {}), `${route} ${status}`).toEqual([type]);
      }
      expect(Object.keys(op.responses), route).toContain('429');
    }
  });
});

describe('GET /openapi.json and /docs', () => {
  let app: Awaited<ReturnType<typeof buildDocumentApp>>;
  beforeAll(async () => {
    app = await buildDocumentApp();
  });
  afterAll(() => app.close());

  it('serves the document it describes', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toBe(readFileSync(OPENAPI_PATH, 'utf8').trimEnd());
  });

  it("gives the docs page the renderer's own policy and every other answer the strict one", async () => {
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-security-policy']).toBe(DOCS_CSP);
    expect(DOCS_CSP).not.toMatch(/unsafe-eval|\*/);
    expect(docs.headers['x-frame-options']).toBe('DENY');
    const script = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(script.statusCode).toBe(200);
    for (const url of ['/openapi.json', '/healthz', '/nowhere']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.headers['content-security-policy'], url).toMatch(/^default-src 'none'; script-src 'nonce-/);
    }
  });
});
