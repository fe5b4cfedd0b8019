import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { config } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { connectVault, type VaultSession } from '../../lib/vault';
import { launchChromium } from '../helpers/browser';
import { type RunningDecryptor, startDecryptor } from '../helpers/decryptor';
import { createSeeder, type Seeder } from '../helpers/seed';

const VISIBLE_MS = 1500;

let db: Db;
let vault: VaultSession;
let decryptor: RunningDecryptor;
let seeder: Seeder;
let app: FastifyInstance;
let browser: Browser;
let baseUrl: string;

beforeAll(async () => {
  db = createPool();
  vault = await connectVault('api');
  decryptor = await startDecryptor();
  seeder = await createSeeder(db);
  app = await buildApp({
    db,
    decryptor: decryptor.client,
    logger: createLogger({ level: 'warn', name: 'reveal-browser-test' }),
    publicBaseUrl: config().PUBLIC_BASE_URL!,
    revealVisibleMs: VISIBLE_MS,
    rateLimitPerMinute: 1000,
    limitScope: `test-${randomUUID()}`,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await seeder?.cleanup();
  seeder?.close();
  vault?.close();
  await decryptor?.close();
  await db?.end();
});

it('reveals the codes, then hides them after the timer and says how to get a new link', async () => {
  const order = await seeder.seed({ cards: 2 });
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /content security policy/i.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  const landing = await page.goto(`${baseUrl}/d/${order.token}`);
  expect(landing?.status()).toBe(200);
  await expect.poll(() => page.getByText(order.orderId).first().isVisible()).toBe(true);

  await Promise.all([page.waitForURL(`${baseUrl}/d/${order.token}/reveal`), page.click('#reveal')]);
  for (const card of order.cards) {
    expect(await page.getByText(card.value, { exact: true }).isVisible()).toBe(true);
    expect(await page.getByText(card.serial, { exact: true }).isVisible()).toBe(true);
  }
  // The countdown only moves if the nonce'd script runs under the page's CSP.
  await expect.poll(() => page.locator('#seconds').textContent(), { timeout: 1000 }).toBe('1');
  expect(await page.locator('#hidden-notice').isVisible()).toBe(false);

  await page.waitForSelector('#cards', { state: 'detached', timeout: VISIBLE_MS + 3000 });
  const html = await page.content();
  for (const card of order.cards) {
    expect(html).not.toContain(card.value);
    expect(html).not.toContain(card.serial);
  }
  expect(await page.locator('#hidden-notice').isVisible()).toBe(true);
  expect(await page.locator('#hidden-notice').textContent()).toMatch(
    /to get a new link, contact the merchant/i,
  );

  expect(consoleErrors).toEqual([]);
  await context.close();
}, 60_000);
