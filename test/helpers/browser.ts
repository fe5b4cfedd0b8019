/** Debian's Chromium, headless, driven by playwright-core: no browser is ever downloaded. */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../api/app';
import type { CustomerPageSettings } from '../../api/http/customer-page';
import { config, databaseUrl } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { type RunningDecryptor, startDecryptor } from './decryptor';
import { fixturePool } from './fixture-db';
import { createSeeder, type Seeder } from './seed';

const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install.sh`);
  return chromium.launch({
    executablePath: CHROMIUM,
    // No background traffic: this machine reaches nothing but its own loopback.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What a browser test of the customer's pages drives: the API and a decryptor in process, seeded links, Chromium. */
export interface LinkPagesInBrowser {
  /** The fixtures' pool (the seeder's). */
  db: Db;
  decryptor: RunningDecryptor;
  seeder: Seeder;
  app: FastifyInstance;
  browser: Browser;
  /** The in-process API, e.g. http://127.0.0.1:40123. */
  baseUrl: string;
  /**
   * A fresh context and page; `errors` collects what the page logged as an error or a CSP refusal and
   * every uncaught exception, so a test can assert that nothing the page did was refused.
   */
  newPage(
    options?: BrowserContextOptions,
  ): Promise<{ context: BrowserContext; page: Page; errors: string[] }>;
}

/**
 * Registers the suite's set-up and tear-down (vitest's beforeAll/afterAll): the database, a decryptor of
 * the suite's own (the API holds no card key), a seeder, the API (its own database role) listening on a
 * free port, and Chromium. The returned object is
 * filled in before the first test runs.
 */
export function linkPagesInBrowser(opts: {
  name: string;
  revealVisibleMs: number;
  rateLimitPerMinute: number;
  customerPages?: CustomerPageSettings;
}): LinkPagesInBrowser {
  let apiDb: Db | undefined;
  const it = {} as LinkPagesInBrowser;
  it.newPage = async (options) => {
    const context = await it.browser.newContext(options);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || /content security policy/i.test(m.text())) errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    return { context, page, errors };
  };
  beforeAll(async () => {
    it.db = fixturePool();
    apiDb = createPool(databaseUrl('api'), 4);
    it.decryptor = await startDecryptor();
    it.seeder = await createSeeder(it.db);
    it.app = await buildApp({
      db: apiDb,
      decryptor: it.decryptor.client,
      logger: createLogger({ level: 'warn', name: opts.name }),
      publicBaseUrl: config().PUBLIC_BASE_URL!,
      revealVisibleMs: opts.revealVisibleMs,
      rateLimitPerMinute: opts.rateLimitPerMinute,
      limitScope: `test-${randomUUID()}`,
      ...(opts.customerPages ? { customerPages: opts.customerPages } : {}),
    });
    await it.app.listen({ host: '127.0.0.1', port: 0 });
    it.baseUrl = `http://127.0.0.1:${(it.app.server.address() as AddressInfo).port}`;
    it.browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await it.browser?.close();
    await it.app?.close();
    await it.seeder?.cleanup();
    it.seeder?.close();
    await it.decryptor?.close();
    await apiDb?.end();
    await it.db?.end();
  });
  return it;
}
