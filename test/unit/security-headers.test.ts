/**
 * HSTS on https: a browser that has seen the API over https never tries its http:// address again, so a
 * link's page cannot be served with TLS stripped. Every answer carries it (pages, errors, 404s, the errors
 * Fastify raises before routing); an API served over plain http sends none.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandler, frameworkErrors, notFoundHandler } from '../../api/http/errors';
import { addSecurityHeaders, HSTS } from '../../api/http/security-headers';

async function appServing(publicBaseUrl: string) {
  const app = Fastify({ frameworkErrors, routerOptions: { maxParamLength: 8 } });
  addSecurityHeaders(app, { hsts: new URL(publicBaseUrl).protocol === 'https:' });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.get('/page', async () => 'ok');
  app.get('/boom', async () => {
    throw new Error('boom');
  });
  app.get('/d/:token', async () => 'link');
  app.get('/v1/orders/:orderId', async () => 'order');
  await app.ready();
  return app;
}

const requests = [
  ['a page', '/page', 200],
  ['an error', '/boom', 500],
  ['a 404', '/nowhere', 404],
  ['a framework error (bad percent-encoding)', '/d/%E0%A4%A', 404],
  ['a framework error (over-long parameter)', `/d/${'x'.repeat(20)}`, 404],
  ['a framework error (over-long parameter, an API path)', `/v1/orders/${'x'.repeat(20)}`, 404],
] as const;

describe('Strict-Transport-Security', () => {
  it.each(requests)('is on %s when PUBLIC_BASE_URL is https', async (_name, url, status) => {
    const app = await appServing('https://cards.example');
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(status);
    expect(res.headers['strict-transport-security']).toBe(HSTS);
    expect(HSTS).toMatch(/^max-age=31536000; includeSubDomains$/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    await app.close();
  });

  it.each(requests)('is not on %s when the API is served over http', async (_name, url, status) => {
    const app = await appServing('http://127.0.0.1:3000');
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(status);
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['x-frame-options']).toBe('DENY');
    await app.close();
  });
});
