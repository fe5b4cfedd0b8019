/**
 * /docs renders in a real browser under its own CSP (api/http/openapi.ts DOCS_CSP): Swagger UI's files come
 * from the API itself, the document from /openapi.json, every public operation is listed, and the browser
 * reports no policy violation. Every other answer keeps the strict policy (test/unit/openapi.test.ts).
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildDocumentApp } from '../../api/openapi-document';
import { launchChromium } from '../helpers/browser';

let app: FastifyInstance;
let browser: Browser;
let url: string;

beforeAll(async () => {
  app = await buildDocumentApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

it('renders every operation, with no CSP violation and nothing fetched from elsewhere', async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  const elsewhere: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('request', (request) => {
    if (!request.url().startsWith(url) && !request.url().startsWith('data:')) elsewhere.push(request.url());
  });
  await page.goto(`${url}/docs/`);
  await page.waitForSelector('.opblock', { timeout: 20_000 });
  expect(await page.locator('.opblock').count()).toBe(10);
  expect(await page.locator('.opblock-summary-path').allTextContents()).toContain('/v1/fulfillments');
  expect(problems).toEqual([]);
  expect(elsewhere).toEqual([]);
  await page.close();
});
